// `node --import bench/lib/report-usage.mjs …`: at exit, appends the
// process's own resource usage (peak RSS, user and system CPU) as one JSON
// line to the file BENCH_USAGE_FILE names, so the bench can read a CLI
// command's peak memory and CPU without any tool outside Node. Bench code.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.once('exit', () => {
    const usage = process.resourceUsage();
    appendFileSync(file, `${JSON.stringify({ maxRssKiB: usage.maxRSS, userMicros: usage.userCPUTime, systemMicros: usage.systemCPUTime })}\n`);
  });
}
