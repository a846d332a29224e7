import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertPinOnlyInBodies, basePinMail as base } from '../../test/support/pin-mail.ts';
import { composePinMail } from './compose-pin-mail.ts';
import { BUILT_IN_TEMPLATE_DIR, candidateLanguages, parseTemplate, type PinMailKind } from './pin-mail-templates.ts';

describe('the built-in templates', () => {
  it('ships a complete, valid template for every kind in every built-in language', () => {
    const languages = readdirSync(BUILT_IN_TEMPLATE_DIR, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    assert.deepEqual(languages, ['de', 'en', 'fr', 'pt-BR', 'ru', 'zh-CN']);
    for (const language of languages) {
      for (const kind of ['reset', 'welcome']) {
        const parsed = parseTemplate(readFileSync(join(BUILT_IN_TEMPLATE_DIR, language, `${kind}.json`), 'utf8'));
        assert.equal(typeof parsed, 'object', `${language}/${kind}.json: ${String(parsed)}`);
      }
    }
  });
});

describe('language choice', () => {
  const chosen = (language: string | undefined, kind: PinMailKind = 'reset') => composePinMail({ ...base, kind, language }).headers['Content-Language'];

  for (const [requested, language] of [
    ['fr-CA', 'fr'], ['FR-ca', 'fr'], ['fr-Latn-CA', 'fr'], ['de-AT', 'de'], ['de-DE-u-co-phonebk', 'de'],
    ['pt', 'pt-BR'], ['pt-PT', 'pt-BR'], ['pt-br', 'pt-BR'], ['pt_BR', 'pt-BR'],
    ['zh', 'zh-CN'], ['zh-Hans', 'zh-CN'], ['zh-Hans-CN', 'zh-CN'], ['ZH-cn', 'zh-CN'],
    ['ru-RU', 'ru'], ['en-GB', 'en'], ['xx', 'en'], ['i-klingon', 'en'], ['', 'en'], [undefined, 'en'],
    ['../../etc', 'en'], ['de/../fr', 'en'], ['x-private', 'en'],
  ] as const) {
    it(`${requested === undefined ? '(absent)' : JSON.stringify(requested)} → ${language}`, () => {
      assert.equal(chosen(requested), language);
      assert.equal(chosen(requested, 'welcome'), language);
    });
  }

  it('tries the tag, its shorter prefixes, the default region, then English', () => {
    assert.deepEqual(candidateLanguages('zh-Hant-TW'), ['zh-hant-tw', 'zh-hant', 'zh', 'zh-cn', 'en']);
    assert.deepEqual(candidateLanguages('en-x-foo'), ['en-x-foo', 'en']);
    assert.deepEqual(candidateLanguages('pt'), ['pt', 'pt-br', 'en']);
    assert.deepEqual(candidateLanguages('not a tag'), ['en']);
  });
});

describe('templates a deployer overrides', () => {
  const dirs: string[] = [];
  const warnings: string[] = [];
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code === 'UMPIN_MAIL_TEMPLATE') warnings.push(warning.message);
  };
  process.on('warning', onWarning);
  after(() => {
    process.off('warning', onWarning);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function overrideDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'umpin-templates-'));
    dirs.push(dir);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return dir;
  }
  /** process.emitWarning reports on the next tick. */
  const warningsSoFar = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return warnings.join('\n');
  };

  const germanReset = JSON.parse(readFileSync(join(BUILT_IN_TEMPLATE_DIR, 'de', 'reset.json'), 'utf8')) as Record<string, unknown>;
  const customGerman = JSON.stringify({ ...germanReset, subject: 'Neue PIN für Ihre Sprachbox' });

  it('uses an overriding file, and the built-in ones for everything it does not override', async () => {
    const templateDir = overrideDir({ 'de/reset.json': customGerman });
    const mail = composePinMail({ ...base, kind: 'reset', language: 'de-CH', templateDir });
    assert.equal(mail.subject, 'Neue PIN für Ihre Sprachbox');
    assert.equal(mail.headers['Content-Language'], 'de');
    assertPinOnlyInBodies(mail);
    assert.equal(composePinMail({ ...base, kind: 'welcome', language: 'de', templateDir }).subject, 'Willkommen bei Ihrer Voicemail');
    assert.equal(composePinMail({ ...base, kind: 'reset', language: 'fr', templateDir }).headers['Content-Language'], 'fr');
    assert.equal(composePinMail({ ...base, kind: 'reset', templateDir }).subject, 'Your voice mail PIN has been reset');
    assert.equal(await warningsSoFar(), '', 'files a deployer does not override are not worth a warning');
  });

  it('matches override directories case-insensitively and lets a deployer add a language', () => {
    const italian = JSON.stringify({
      subject: 'Il PIN della segreteria è stato reimpostato',
      text: 'Il nuovo PIN è:\n\n    {{pin}}\n\n{{policyText}}',
      html: '<p>Il nuovo PIN è:</p><p>{{pin}}</p>{{policyText}}',
    });
    const templateDir = overrideDir({ 'DE/reset.json': customGerman, 'it/reset.json': italian });
    assert.equal(composePinMail({ ...base, kind: 'reset', language: 'de', templateDir }).subject, 'Neue PIN für Ihre Sprachbox');
    const mail = composePinMail({ ...base, kind: 'reset', language: 'it-IT', templateDir, policyText: '<b>x</b>' });
    assert.equal(mail.headers['Content-Language'], 'it');
    assert.equal(mail.text, 'Il nuovo PIN è:\n\n    284619\n\nx\n');
    assert.match(mail.html ?? '', /<p>284619<\/p><b>x<\/b>/);
    assert.equal(composePinMail({ ...base, kind: 'welcome', language: 'it', templateDir }).headers['Content-Language'], 'en');
  });

  for (const [problem, content, reason] of [
    ['invalid JSON', '{ "subject": "Kaputt", ', /not JSON/],
    ['no {{pin}} in the text', JSON.stringify({ ...germanReset, subject: 'Ohne PIN', text: 'Ihre PIN: siehe HTML' }), /"text" must contain \{\{pin\}\}/],
    ['no {{pin}} in the HTML', JSON.stringify({ ...germanReset, subject: 'Ohne PIN', html: '<p>keine</p>' }), /"html" must contain \{\{pin\}\}/],
    ['{{pin}} in the subject', JSON.stringify({ ...germanReset, subject: 'Ihre PIN: {{pin}}' }), /"subject" must hold no placeholder/],
    ['an unknown placeholder', JSON.stringify({ ...germanReset, subject: 'Tippfehler', text: '{{ pin }} {{pin}}' }), /unknown placeholder \{\{ pin \}\}/],
    ['{{accessNumber}} without its phrases', JSON.stringify({ ...germanReset, subject: 'Ohne Nummer', accessNumber: undefined }), /"accessNumber" must be an object/],
    ['a subject that is not a string', JSON.stringify({ ...germanReset, subject: 42 }), /"subject" must be a non-empty string/],
  ] as const) {
    it(`ignores an override with ${problem}, warns once, and uses the built-in file`, async () => {
      const templateDir = overrideDir({ 'de/reset.json': content });
      warnings.length = 0;
      for (let round = 0; round < 3; round += 1) {
        const mail = composePinMail({ ...base, kind: 'reset', language: 'de', templateDir });
        assert.equal(mail.subject, 'Ihre Voicemail-PIN wurde zurückgesetzt');
        assertPinOnlyInBodies(mail);
      }
      const reported = await warningsSoFar();
      assert.match(reported, reason);
      assert.equal(warnings.length, 1, 'one warning per file, not per mail');
      assert.ok(reported.includes(join(templateDir, 'de', 'reset.json')));
      assert.ok(!reported.includes(base.pin));
    });
  }

  it('uses the built-in templates when the override directory is missing', async () => {
    warnings.length = 0;
    const templateDir = join(tmpdir(), `umpin-no-such-dir-${process.pid}-${Date.now()}`);
    assert.equal(composePinMail({ ...base, kind: 'reset', language: 'ru', templateDir }).headers['Content-Language'], 'ru');
    assert.match(await warningsSoFar(), /cannot be read \(ENOENT\)/);
  });

  it('reads each template file once per process', () => {
    const templateDir = overrideDir({ 'de/reset.json': customGerman });
    assert.equal(composePinMail({ ...base, kind: 'reset', language: 'de', templateDir }).subject, 'Neue PIN für Ihre Sprachbox');
    writeFileSync(join(templateDir, 'de', 'reset.json'), JSON.stringify({ ...germanReset, subject: 'Geändert' }));
    assert.equal(composePinMail({ ...base, kind: 'reset', language: 'de', templateDir }).subject, 'Neue PIN für Ihre Sprachbox');
  });
});
