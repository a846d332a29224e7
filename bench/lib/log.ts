/** The bench's progress lines, on stderr so that stdout is the report alone. */
export const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};
