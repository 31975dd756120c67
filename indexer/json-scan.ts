/**
 * Incremental scanner for a JSON-RPC response whose result is a (possibly huge) array: getProgramAccounts
 * with or without `withContext`. It is fed the body chunk by chunk and hands out each array element as
 * its own JSON text, so the response is never held whole; only the element being read is buffered.
 *
 * Works on bytes: every structural character of JSON is ASCII, and UTF-8 continuation bytes are >= 0x80,
 * so multi-byte characters inside strings cannot be mistaken for structure.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

type Target = "item" | "context" | "error";

export interface ScanHandlers {
  /** One element of the result array, as JSON text (always an object). */
  item(json: Buffer): void;
  /** `result.context`, as JSON text. */
  context(json: Buffer): void;
  /** The top-level `error` member, as JSON text. */
  error(json: Buffer): void;
}

/** The response is not JSON of the expected shape. Retrying may help if the body was cut off. */
export class ResponseShapeError extends Error {
  override name = "ResponseShapeError";
}

export class RpcResultScanner {
  private readonly handlers: ScanHandlers;
  /** Open containers: true for an object, false for an array. */
  private readonly isObject: boolean[] = [];
  /** The last key read in each open object (only tracked for the two outermost levels). */
  private readonly keys: (string | null)[] = [];
  private expectKey = false;
  private inString = false;
  private escaped = false;
  private keyChars: number[] | null = null;
  private capture: Target | null = null;
  private captureDepth = 0;
  private parts: Buffer[] = [];
  private sawRoot = false;

  constructor(handlers: ScanHandlers) {
    this.handlers = handlers;
  }

  private targetFor(depth: number): Target | null {
    // depth is the depth of the object being opened (root object = 1)
    if (depth === 2 && this.keys[0] === "error") return "error";
    if (this.keys[0] !== "result") return null;
    if (depth === 3 && this.isObject[1] === true && this.keys[1] === "context") return "context";
    if (depth === 4 && this.isObject[1] === true && this.keys[1] === "value" && this.isObject[2] === false) return "item";
    if (depth === 3 && this.isObject[1] === false) return "item";
    return null;
  }

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    let captureStart = this.capture === null ? -1 : 0;
    while (i < n) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.keyChars !== null) {
            this.keys[this.isObject.length - 1] = String.fromCharCode(...this.keyChars);
            this.keyChars = null;
          }
        } else if (this.keyChars !== null) this.keyChars.push(c);
        i++;
        continue;
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          // Keys are remembered only in the two outermost objects, outside captured values.
          if (this.capture === null && this.expectKey && this.isObject.length <= 2) this.keyChars = [];
          break;
        case LBRACE:
        case LBRACKET: {
          const obj = c === LBRACE;
          if (this.isObject.length === 0) {
            if (!obj || this.sawRoot) throw new ResponseShapeError("the response is not a JSON object");
            this.sawRoot = true;
          }
          this.isObject.push(obj);
          this.keys.push(null);
          this.expectKey = obj;
          if (obj && this.capture === null) {
            const target = this.targetFor(this.isObject.length);
            if (target !== null) {
              this.capture = target;
              this.captureDepth = this.isObject.length;
              captureStart = i;
            }
          }
          break;
        }
        case RBRACE:
        case RBRACKET: {
          const depth = this.isObject.length;
          if (depth === 0 || this.isObject[depth - 1] !== (c === RBRACE)) {
            throw new ResponseShapeError("the response has unbalanced brackets");
          }
          this.isObject.pop();
          this.keys.pop();
          this.expectKey = false;
          if (this.capture !== null && depth === this.captureDepth) {
            this.parts.push(chunk.subarray(captureStart, i + 1));
            const text = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
            const target = this.capture;
            this.parts = [];
            this.capture = null;
            captureStart = -1;
            this.handlers[target](text);
          }
          break;
        }
        case COMMA:
          this.expectKey = this.isObject[this.isObject.length - 1] === true;
          break;
        case COLON:
          this.expectKey = false;
          break;
        default:
          break;
      }
      i++;
    }
    // An element that continues into the next chunk keeps its part so far (copied: the chunk may be reused).
    if (this.capture !== null && captureStart >= 0) this.parts.push(Buffer.from(chunk.subarray(captureStart)));
  }

  /** Call after the last chunk: the document must be complete. */
  end(): void {
    if (!this.sawRoot || this.isObject.length !== 0 || this.inString) {
      throw new ResponseShapeError("the response ended before the JSON document did");
    }
  }
}
