/**
 * Rewrites the settings table of docs/configuration.md from SETTINGS (src/config.ts), between its
 * markers; the prose around it is kept. src/config.test.ts fails until this has been run after a
 * setting was added or changed.
 *
 *   node --import tsx scripts/write-configuration-doc.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeSettings } from '../src/config.ts';

export const CONFIGURATION_DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const SECTION = /(<!-- settings:begin[^>]*-->\n)[\s\S]*?(\n<!-- settings:end -->)/;

/** The table as it stands in the file, or undefined when the markers are missing. */
export function readSettingsSection(text: string): string | undefined {
  const match = SECTION.exec(text);
  return match ? text.slice(match.index + (match[1] as string).length, match.index + match[0].length - (match[2] as string).length) : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = readFileSync(CONFIGURATION_DOC, 'utf8');
  if (readSettingsSection(text) === undefined) throw new Error(`${CONFIGURATION_DOC} has no <!-- settings:begin --> … <!-- settings:end --> markers.`);
  writeFileSync(CONFIGURATION_DOC, text.replace(SECTION, (_all, begin: string, end: string) => `${begin}${describeSettings('markdown')}${end}`));
}
