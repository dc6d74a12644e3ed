/**
 * Hands a download link of the app's local server to the browser's (or Electron's) download
 * manager, which streams it to disk: nothing is held in the page. An empty `download`
 * attribute keeps the server's file name (Content-Disposition).
 */
export function startDownload(url: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = '';
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
