/** Reading a child's output until something appears (a readiness line, a progress marker). */

/**
 * Reads text from `reader` until `seen(text so far)` holds or the stream ends, and returns the
 * text read. The caller keeps the reader (to read on, cancel or release it); an ended stream is
 * not an error here: the caller checks the text.
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  seen: (text: string) => boolean,
): Promise<string> {
  let text = "";
  while (!seen(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  return text;
}
