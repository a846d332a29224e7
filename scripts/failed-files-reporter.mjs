/**
 * A node:test reporter that repeats, at the end, why a test file failed as a
 * whole (a crash, an error outside any test, a non-zero exit with every test
 * passing): its exit code or signal, the runner's notes about it ("…
 * asynchronous activity after the test ended …") and the end of what it
 * wrote to stderr. The spec reporter shows such a file only as "'test
 * failed'" in its closing list, with the cause hundreds of lines earlier;
 * scripts/test.sh prints this summary last, where a CI log's tail shows it.
 *
 * The runner reports one file's events together, so the notes without a file
 * that come just before a file's own result are that file's.
 */
const KEPT_CHARACTERS = 6_000;

export default async function* failedFilesReporter(source) {
  const stderrByFile = new Map();
  let notes = [];
  for await (const { type, data } of source) {
    if (type === 'test:stderr' && data.file) {
      stderrByFile.set(data.file, ((stderrByFile.get(data.file) ?? '') + data.message).slice(-KEPT_CHARACTERS));
    } else if (type === 'test:diagnostic' && data.nesting === 0) {
      notes.push(data.message);
    } else if ((type === 'test:pass' || type === 'test:fail') && data.nesting === 0) {
      if (type === 'test:fail' && data.file && data.name === data.file) {
        const { exitCode, signal } = data.details?.error ?? {};
        const stderr = (stderrByFile.get(data.file) ?? '').trimEnd();
        yield [
          `${data.file} failed as a whole (exit code ${exitCode ?? '?'}${signal ? `, signal ${signal}` : ''})`,
          ...notes.map((note) => `  runner: ${note}`),
          `  last stderr: ${stderr === '' ? '(nothing)' : `\n${stderr}`}`,
          '', '',
        ].join('\n');
      }
      notes = [];
    }
  }
}
