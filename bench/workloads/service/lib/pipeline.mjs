// Streams records through an rxjs pipeline in batches.
import { from, lastValueFrom } from "rxjs";
import { bufferCount, map, reduce } from "rxjs/operators";

export function countBatches(records, size) {
  return lastValueFrom(
    from(records).pipe(
      bufferCount(size),
      map((batch) => batch.length),
      reduce((count) => count + 1, 0),
    ),
  );
}
