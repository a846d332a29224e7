import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATALOGUES, LANGUAGES, negotiateLanguage, translator } from './i18n.ts';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the page catalogues', () => {
  const english = CATALOGUES.en;

  it('are the six mail languages', () => {
    assert.deepEqual([...LANGUAGES], ['en', 'de', 'fr', 'pt-BR', 'ru', 'zh-CN']);
  });

  for (const language of LANGUAGES.filter((l) => l !== 'en')) {
    it(`${language} has exactly English's keys, each with the same placeholders and some text`, () => {
      const catalogue = CATALOGUES[language];
      assert.deepEqual(Object.keys(catalogue).sort(), Object.keys(english).sort());
      for (const [key, text] of Object.entries(english)) {
        const translated = catalogue[key] ?? '';
        assert.ok(translated.trim().length > 0, `${language} ${key} is empty`);
        assert.deepEqual(placeholders(translated), placeholders(text), `${language} ${key} has other placeholders than English`);
      }
    });
  }

  it('fills placeholders and leaves unknown ones visible', () => {
    assert.equal(translator('de')('status.resetHelp', { address: 'a•••@example.com' }), 'Eine neue PIN wird an a•••@example.com gesendet.');
    assert.equal(translator('en')('rule.length', { min: 6 }), '6 to {max} digits');
  });
});

describe('negotiateLanguage', () => {
  it('takes the most preferred language we have, by quality', () => {
    assert.equal(negotiateLanguage('de-DE,de;q=0.9,en;q=0.8'), 'de');
    assert.equal(negotiateLanguage('en;q=0.5, fr;q=0.9'), 'fr');
    assert.equal(negotiateLanguage('zh-CN,zh;q=0.9'), 'zh-CN');
    assert.equal(negotiateLanguage('pt-BR'), 'pt-BR');
    assert.equal(negotiateLanguage('RU'), 'ru');
  });

  it('falls back to a language of the same primary subtag, then to English', () => {
    assert.equal(negotiateLanguage('pt-PT'), 'pt-BR');
    assert.equal(negotiateLanguage('zh'), 'zh-CN');
    assert.equal(negotiateLanguage('de-AT'), 'de');
    assert.equal(negotiateLanguage('it, ja;q=0.5'), 'en');
    assert.equal(negotiateLanguage(undefined), 'en');
    assert.equal(negotiateLanguage(''), 'en');
    assert.equal(negotiateLanguage('*'), 'en');
  });
});
