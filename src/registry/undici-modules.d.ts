// Types for the undici modules the registry client loads directly (see loadUndici in http.ts).
declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";
  /** undici's `Dispatcher#request`, called with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}

declare module "undici/lib/global.js" {
  import type { Dispatcher } from "undici";
  /** The process-wide dispatcher (an Agent unless someone installed another), shared with `undici`'s index. */
  export function getGlobalDispatcher(): Dispatcher;
}

declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent as UndiciAgent } from "undici";
  /** undici's Agent (a pool per origin), the class behind the global dispatcher. */
  const Agent: typeof UndiciAgent;
  export default Agent;
}
