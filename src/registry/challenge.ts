/**
 * WWW-Authenticate parsing (RFC 7235): one header may hold several challenges, each a scheme
 * followed by comma-separated auth-params (`name=token` or `name="quoted \"string\""`) or a
 * token68. Scheme and parameter names are case-insensitive and returned lower-cased.
 */

export interface Challenge {
  /** Lower-case: "basic", "bearer", … */
  scheme: string;
  /** Lower-case names. */
  params: Record<string, string>;
  token68?: string;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseChallenges(h));
  const s = header;
  let i = 0;
  const out: Challenge[] = [];

  const skipSpaces = (): void => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const skipSeparators = (): void => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === ",")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i] as string)) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let value = "";
    while (i < s.length && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      value += s[i];
      i++;
    }
    i++; // closing quote (or end)
    return value;
  };
  /** At i: `token *WS "=" *WS` followed by something other than "=" (a param, not a token68)? */
  const atParam = (): boolean => {
    const save = i;
    const name = readToken();
    skipSpaces();
    const ok = name.length > 0 && s[i] === "=" && s[i + 1] !== "=";
    i = save;
    return ok;
  };

  while (i < s.length) {
    skipSeparators();
    const scheme = readToken();
    if (!scheme) {
      i++; // junk character: skip it
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipSpaces();
    if (i >= s.length || s[i] === ",") continue;

    if (!atParam()) {
      const match = TOKEN68.exec(s.slice(i));
      if (match) {
        challenge.token68 = match[0];
        i += match[0].length;
      }
      continue;
    }
    // auth-params until the next challenge starts
    for (;;) {
      skipSpaces();
      const name = readToken().toLowerCase();
      skipSpaces();
      if (s[i] !== "=") break;
      i++;
      skipSpaces();
      const value = s[i] === '"' ? readQuoted() : readToken();
      if (!(name in challenge.params)) challenge.params[name] = value;
      skipSpaces();
      if (s[i] !== ",") break;
      // After a comma: another param of this challenge, or the next challenge's scheme.
      const save = i;
      skipSeparators();
      if (i >= s.length) break;
      if (!atParam()) {
        i = save;
        break;
      }
    }
  }
  return out;
}

/** The challenge we answer: Bearer if offered, else Basic. */
export function selectChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
}
