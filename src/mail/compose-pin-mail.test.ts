import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { assertPinOnlyInBodies, basePinMail as base } from '../../test/support/pin-mail.ts';
import { composePinMail } from './compose-pin-mail.ts';
import { policyToHtml, policyToText } from './policy-text.ts';

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

});

describe('the values in a composed mail', () => {
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
