/**
 * The local stack's own log: short readable lines prefixed with `[local]`, so they stand out from the
 * handlers' JSON lines in the same terminal. Tests running a gateway in-process can silence it.
 */
type Sink = (line: string) => void;

let sink: Sink = (line) => process.stdout.write(`${line}\n`);

export function setLocalLogSink(next: Sink): void {
  sink = next;
}

function write(marker: string, text: string): void {
  const time = new Date().toISOString().slice(11, 23);
  sink(`${time} [local] ${marker}${text}`);
}

export const localLog = {
  info: (text: string) => write('', text),
  warn: (text: string) => write('WARN ', text),
  error: (text: string) => write('ERROR ', text),
};
