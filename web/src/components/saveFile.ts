// Hands content to the browser as a download through a temporary object URL
// (same origin, so the CSP allows it; no server route needed).

/** Saves a Blob under a file name. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by then; revoking at once (even on the next
  // turn) can cancel it in some browsers, and a big log takes a moment.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves text as a file of a MIME type. */
export function saveText(text: string, fileName: string, mimeType: string): void {
  saveBlob(new Blob([text], { type: mimeType }), fileName);
}
