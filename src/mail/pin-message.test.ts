import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type { MailMessage } from './mail-message.ts';
import { BUILT_IN_TEMPLATE_DIR, candidateLanguages, composePinMail, parseTemplate, policyToHtml, policyToText, type PinMailKind } from './pin-message.ts';

const base = { pin: '284619', from: 'Voice Mail <vm@example.com>', to: 'alice@example.com', extension: '36697', policyText: '' };

/** The PIN is in both bodies, on its own line in the text, and nowhere in the subject or headers. */
function assertPinOnlyInBodies(mail: MailMessage, pin = base.pin): void {
  assert.match(mail.text, new RegExp(`^ {4}${pin}$`, 'm'));
  assert.ok(mail.html?.includes(`>${pin}<`), 'the HTML part shows the PIN in an element of its own');
  assert.ok(!mail.subject.includes(pin));
  assert.ok(!JSON.stringify(mail.headers).includes(pin));
  assert.ok(!`${mail.text}${mail.html}`.includes('{{'), 'no placeholder left unfilled');
}

describe('composePinMail', () => {
  it('puts the PIN in the body on a line of its own, never in the subject or headers', () => {
    const mail = composePinMail({ ...base, kind: 'reset' });
    assert.equal(mail.subject, 'Your voice mail PIN has been reset');
    assert.match(mail.text, /^ {4}284619$/m);
    assert.ok(!mail.subject.includes('284619'));
    assert.ok(!JSON.stringify(mail.headers).includes('284619'));
    assert.deepEqual(mail.headers, { 'Auto-Submitted': 'auto-generated', 'Content-Language': 'en' });
    assert.match(mail.text, /choose a new PIN/);
  });

  it('names the extension in the welcome mail', () => {
    const mail = composePinMail({ ...base, kind: 'welcome' });
    assert.equal(mail.subject, 'Welcome to voice mail');
    assert.match(mail.text, /extension 36697/);
  });

  it("appends the policy's text, with simple HTML reduced to its words", () => {
    const mail = composePinMail({ ...base, kind: 'reset', policyText: 'Call <b>+1 555 0100</b>.<br>Help: x&amp;y' });
    assert.match(mail.text, /\n\nCall \+1 555 0100\.\nHelp: x&y\n$/);
  });

  it('ends the text part with the default text when the policy has none', () => {
    const mail = composePinMail({ ...base, kind: 'reset' });
    assert.match(mail.text, /tell your administrator\.\n$/);
    assert.ok(mail.html?.startsWith('<!DOCTYPE html>\n<html lang="en">'));
  });
});

describe('composePinMail in each language', () => {
  const expected: Record<string, { reset: RegExp; welcome: RegExp; next: RegExp; unknownNumber: RegExp; extension: RegExp }> = {
    en: { reset: /\breset\b/, welcome: /\bWelcome\b/, next: /choose a new PIN/, unknownNumber: /your voice mail access number/, extension: /extension 36697/ },
    de: { reset: /zurückgesetzt/, welcome: /Willkommen/, next: /eigene neue PIN festzulegen/, unknownNumber: /Ihre Voicemail-Zugriffsnummer/, extension: /Durchwahl 36697/ },
    fr: { reset: /réinitialisé/, welcome: /Bienvenue/, next: /choisir votre propre code PIN/, unknownNumber: /votre numéro d'accès/, extension: /poste 36697/ },
    'pt-BR': { reset: /redefinido/, welcome: /Boas-vindas/, next: /escolher um novo PIN/, unknownNumber: /número de acesso ao seu correio de voz/, extension: /ramal 36697/ },
    ru: { reset: /сброшен/, welcome: /Добро пожаловать/, next: /задать собственный ПИН-код/, unknownNumber: /номеру доступа к вашей голосовой почте/, extension: /добавочный номер 36697/ },
    'zh-CN': { reset: /重置/, welcome: /欢迎/, next: /设置自己的新 PIN/, unknownNumber: /您的语音邮件访问号码/, extension: /分机号 36697/ },
  };

  for (const [language, words] of Object.entries(expected)) {
    for (const kind of ['reset', 'welcome'] as const) {
      it(`${language} ${kind}: subject, PIN, what to do next, Content-Language`, () => {
        const mail = composePinMail({ ...base, kind, language });
        assert.match(mail.subject, words[kind]);
        assert.equal(mail.headers['Content-Language'], language);
        assert.equal(mail.headers['Auto-Submitted'], 'auto-generated');
        assert.ok(mail.html?.includes(`<html lang="${language}">`));
        assertPinOnlyInBodies(mail);
        assert.match(mail.text, words.next);
        assert.match(mail.text, words.unknownNumber);
        assert.match(mail.html ?? '', words.next);
        if (kind === 'welcome') assert.match(mail.text, words.extension);
        if (language !== 'en') assert.doesNotMatch(mail.subject, /voice mail/i, 'the subject is translated');

        const withNumber = composePinMail({ ...base, kind, language, accessNumber: '+1 555 0100', policyText: 'Helpdesk x4357' });
        assert.match(withNumber.text, /\+1 555 0100/);
        assert.doesNotMatch(withNumber.text, words.unknownNumber);
        assert.match(withNumber.html ?? '', /<a href="tel:\+15550100" style="white-space:nowrap">\+1 555 0100<\/a>/);
        assert.match(withNumber.text, /\n\nHelpdesk x4357\n$/);
        assert.match(withNumber.html ?? '', /<div>Helpdesk x4357<\/div>/);
      });
    }
  }

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

describe("a policy's ResetPINText in each shipped language", () => {
  // Written as an administrator would paste it from Exchange: named and numeric entities mixed with the characters themselves.
  const texts: Record<string, { written: string; shown: string }> = {
    en: { written: 'Call the help desk &ndash; caf&eacute; &amp; na&iuml;ve users welcome &copy; IT', shown: 'Call the help desk – café & naïve users welcome © IT' },
    de: { written: 'Fragen? B&uuml;ro &bdquo;IT&ldquo;, Stra&szlig;e 5 &ndash; Durchwahl 4357, &Auml;nderungen &uuml;ber das Portal', shown: 'Fragen? Büro „IT“, Straße 5 – Durchwahl 4357, Änderungen über das Portal' },
    fr: { written: 'Appelez le service d&eacute;pannage &ndash; merci &agrave; vous, &laquo;&nbsp;&Ccedil;a marche&nbsp;&raquo;', shown: 'Appelez le service dépannage – merci à vous, «\u00a0Ça marche\u00a0»' },
    'pt-BR': { written: 'D&uacute;vidas? Ligue para o suporte t&eacute;cnico, ramal 4357 &ndash; aten&ccedil;&atilde;o ao hor&aacute;rio', shown: 'Dúvidas? Ligue para o suporte técnico, ramal 4357 – atenção ao horário' },
    ru: { written: '&laquo;Служба поддержки&raquo; &mdash; доб.&nbsp;4357, &#1105;лка &amp; Ё', shown: '«Служба поддержки» — доб.\u00a04357, ёлка & Ё' },
    'zh-CN': { written: '请致电技术支持&mdash;分机&nbsp;4357（&#x4E2D;&#25991;服务）&hellip;', shown: '请致电技术支持—分机\u00a04357（中文服务）…' },
  };

  for (const [language, { written, shown }] of Object.entries(texts)) {
    it(`${language}: accented and CJK text arrives as written in both parts, entities decoded, & and < escaped`, () => {
      const mail = composePinMail({ ...base, kind: 'reset', language, policyText: written });
      const plain = shown.replace(/\u00a0/g, ' '); // the text part spells a no-break space as a space
      assert.ok(mail.text.endsWith(`\n\n${plain}\n`), mail.text);
      const html = shown.replace(/&/g, '&amp;');
      assert.ok(mail.html?.includes(`<div>${html}</div>`), mail.html);
      assert.doesNotMatch(`${mail.text}${mail.html}`, /&amp;[a-zA-Z]+;|&[a-zA-Z]+;(?<!&amp;)/, 'no entity left undecoded or double-escaped');
      assert.equal(policyToText(written), plain);
      assert.equal(policyToHtml(written), html);
    });
  }

  it('leaves what is not an entity as text: unknown names, a missing semicolon, a bare &', () => {
    const written = 'R&D &notanentity; AT&T &eacute caf&eacute;';
    assert.equal(policyToText(written), 'R&D &notanentity; AT&T &eacute café');
    assert.equal(policyToHtml(written), 'R&amp;D &amp;notanentity; AT&amp;T &amp;eacute café');
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

describe("the policy's text", () => {
  const hostile = [
    '<b>Bold</b> <i>it</i>',
    '<script>alert("s")</script>',
    '<a href="javascript:alert(1)">js</a>',
    '<a href="JaVa&#x09;ScRiPt:alert(2)">js2</a>',
    '<img src=x onerror="alert(3)">',
    '<a href="https://help.example.com/pin?a=1&amp;b=2" onclick="alert(4)" target="_blank">help</a>',
    '<p style="color:red" onmouseover="alert(5)">para</p>',
    '<ul><li>one<li>two</ul>',
    '<a href="mailto:help@example.com">help@example.com</a>',
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style><!-- note -->',
    '1 < 2 & <b>unclosed',
  ].join(' ');

  it('keeps only allowlisted tags, safe links and escaped words in the HTML part', () => {
    const html = policyToHtml(hostile);
    assert.equal(html, [
      '<b>Bold</b> <i>it</i>',
      '',
      'js',
      'js2',
      '',
      '<a href="https://help.example.com/pin?a=1&amp;b=2">help</a>',
      '<p>para</p>',
      '<ul><li>one<li>two</li></li></ul>',
      '<a href="mailto:help@example.com">help@example.com</a>',
      '',
      '1 &lt; 2 &amp; <b>unclosed</b>',
    ].join(' '));
    for (const bad of ['script', 'javascript', 'alert', 'onerror', 'onclick', '<img', 'style=', 'iframe', 'target', 'note']) {
      assert.ok(!html.toLowerCase().includes(bad.toLowerCase()), bad);
    }
  });

  it('keeps the words in the text part, with the address of a link', () => {
    const text = policyToText(hostile);
    assert.doesNotMatch(text, /<(?!https:)\w|alert|onerror|display:none/);
    assert.match(text, /^Bold it js js2 help <https:\/\/help\.example\.com\/pin\?a=1&b=2>/);
    assert.match(text, /\n\npara\n\n/);
    assert.match(text, /\n- one\n- two\n/);
    assert.match(text, /\n\nhelp@example\.com 1 < 2 & unclosed$/);
  });

  it('is sanitised inside the composed mail, in both parts', () => {
    const mail = composePinMail({ ...base, kind: 'welcome', language: 'fr', policyText: hostile });
    assert.ok(mail.html?.includes('<div><b>Bold</b> <i>it</i>'));
    assert.doesNotMatch(mail.html ?? '', /javascript|onerror|<script|<img/i);
    assert.doesNotMatch(mail.text, /<b>|<script|alert/);
    assertPinOnlyInBodies(mail);
  });

  it('is not searched for placeholders, and other values are escaped in HTML', () => {
    const mail = composePinMail({ ...base, kind: 'welcome', extension: '1<2>', accessNumber: '+1 (555) 0100', policyText: 'Not {{pin}} here' });
    assert.match(mail.text, /Not \{\{pin\}\} here/);
    assert.match(mail.html ?? '', /Not \{\{pin\}\} here/);
    assert.match(mail.html ?? '', /extension 1&lt;2&gt;/);
    assert.match(mail.html ?? '', /<a href="tel:\+15550100" style="white-space:nowrap">\+1 \(555\) 0100<\/a>/);
    const odd = composePinMail({ ...base, kind: 'reset', accessNumber: 'ask <reception>' });
    assert.match(odd.html ?? '', /number ask &lt;reception&gt; and/);
    assert.doesNotMatch(odd.html ?? '', /tel:/);
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

describe('the composed message on the wire', () => {
  it('is multipart/alternative with a text and an HTML part, in the chosen language', async () => {
    const message = composePinMail({ ...base, kind: 'reset', language: 'pt-BR', accessNumber: '+55 11 4004 0000', policyText: 'Dúvidas? <b>Ramal 4357</b>' });
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const info = await transport.sendMail({ ...message });
    const raw = info.message as Buffer;
    const parsed = await simpleParser(raw);

    const contentType = parsed.headers.get('content-type') as { value: string };
    assert.equal(contentType.value, 'multipart/alternative');
    assert.equal(parsed.subject, 'Seu PIN do correio de voz foi redefinido');
    assert.equal(parsed.headers.get('content-language'), 'pt-BR');
    assert.equal(parsed.headers.get('auto-submitted'), 'auto-generated');
    assert.match(parsed.text ?? '', /^ {4}284619$/m);
    assert.match(parsed.text ?? '', /Ligue para o número de acesso ao correio de voz \+55 11 4004 0000/);
    assert.match(parsed.text ?? '', /Dúvidas\? Ramal 4357/);
    assert.ok(typeof parsed.html === 'string' && parsed.html.includes('>284619<'));
    assert.ok(parsed.html.includes('<b>Ramal 4357</b>'));

    const headerBlock = raw.toString('utf8').split(/\r?\n\r?\n/)[0] ?? '';
    assert.ok(!headerBlock.includes('284619'), 'the PIN is in no header');
  });
});
