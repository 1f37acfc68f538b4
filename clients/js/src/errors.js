// The one error type the client rejects and reports with: `code` is the server's error code
// (PROTOCOL.md section 4) or one of the client's own, listed in index.d.ts.

export class HeraldError extends Error {
  constructor(code, text) {
    super(text ? `${code}: ${text}` : code);
    this.name = 'HeraldError';
    this.code = code;
    this.text = text ?? '';
  }
}
