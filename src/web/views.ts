/**
 * The pages, server-rendered. Every page works without JavaScript (there is
 * none) and loads nothing but /my/style.css. Accessibility by construction:
 * one h1 per page, a label for every field, each error next to its field and
 * named by the field's aria-describedby (with aria-invalid), an error summary
 * that links to the fields, the first invalid field focused on load, and
 * the language of the page and of each language name declared.
 */
import type { PinRuleFailure } from '../pin/index.ts';
import type { OwnPinState } from '../operations/self-service.ts';
import { MAX_PIN_LENGTH } from '../pin/index.ts';
import { html, type SafeHtml } from './html.ts';
import { LANGUAGES, LANGUAGE_NAMES, formatDate, translator, type Language, type MessageKey, type Translate } from './i18n.ts';
import type { Flash } from './session.ts';

export interface PageContext {
  readonly lang: Language;
  /** The path the language links point at (GET pages reload themselves in the new language). */
  readonly path: string;
  readonly csrf?: string;
  /** Shown with a sign-out button in the header. */
  readonly login?: string;
}

interface FieldError {
  readonly field: string;
  readonly messages: readonly string[];
  /** Rule ids, when the messages are the PIN checker's. */
  readonly rules?: readonly string[];
  readonly intro?: string;
}

export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '•••';
  return `${address[0]}•••@${address.slice(at + 1)}`;
}

function layout(context: PageContext, title: string, body: SafeHtml): string {
  const t = translator(context.lang);
  const languages = LANGUAGES.map((lang) => html`<li><a href="${context.path}?lang=${lang}" lang="${lang}" hreflang="${lang}"${lang === context.lang ? html` aria-current="true"` : ''}>${LANGUAGE_NAMES[lang]}</a></li>`);
  const account = context.login === undefined ? '' : html`
      <div class="account">
        <span>${t('layout.signedInAs', { login: context.login })}</span>
        <form method="post" action="/my/sign-out">${csrfField(context)}<button type="submit" class="link">${t('layout.signOut')}</button></form>
      </div>`;
  return `<!doctype html>\n${html`<html lang="${context.lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} – ${t('app.name')}</title>
  <link rel="stylesheet" href="/my/style.css">
</head>
<body>
  <a class="skip" href="#main">${t('layout.skip')}</a>
  <header class="top">
    <div class="inner">
      <p class="brand">${t('app.name')}</p>${account}
    </div>
  </header>
  <main id="main" class="inner">
    <h1>${title}</h1>
${body}
  </main>
  <footer class="inner">
    <nav aria-label="${t('layout.language')}"><ul class="languages">${languages}</ul></nav>
  </footer>
</body>
</html>`}\n`;
}

function csrfField(context: PageContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${context.csrf ?? ''}">`;
}

function notice(text: string | undefined, kind: 'info' | 'success' = 'info'): SafeHtml {
  return text === undefined ? html`` : html`    <div class="notice ${kind}" role="status"><p>${text}</p></div>\n`;
}

function problem(text: string | undefined): SafeHtml {
  return text === undefined ? html`` : html`    <div class="problem" role="alert"><p>${text}</p></div>\n`;
}

function errorSummary(t: Translate, errors: readonly FieldError[]): SafeHtml {
  if (errors.length === 0) return html``;
  const items = errors.flatMap((error) => error.messages.map((message) => html`<li><a href="#${error.field}">${message}</a></li>`));
  return html`    <div class="problem" role="alert" aria-labelledby="problem-title">
      <h2 id="problem-title">${t('layout.errorSummary')}</h2>
      <ul>${items}</ul>
    </div>\n`;
}

interface FieldOptions {
  readonly id: string;
  readonly label: string;
  readonly type: 'text' | 'password';
  readonly autocomplete: string;
  readonly hint?: string;
  readonly value?: string;
  readonly numeric?: boolean;
  /** Ids of other elements that describe the field (the rules list). */
  readonly describedBy?: readonly string[];
  readonly error?: FieldError;
  readonly autofocus?: boolean;
}

function field(options: FieldOptions): SafeHtml {
  const { id, error } = options;
  const describedBy = [...(options.hint ? [`${id}-hint`] : []), ...(options.describedBy ?? []), ...(error ? [`${id}-error`] : [])];
  const errorBlock = error === undefined ? '' : error.rules
    ? html`<div class="field-error" id="${id}-error"><p>${error.intro}</p><ul>${error.messages.map((message, i) => html`<li data-rule="${error.rules?.[i]}">${message}</li>`)}</ul></div>`
    : html`<p class="field-error" id="${id}-error">${error.messages.join(' ')}</p>`;
  return html`
      <div class="field${error ? ' invalid' : ''}">
        <label for="${id}">${options.label}</label>
        ${options.hint ? html`<p class="hint" id="${id}-hint">${options.hint}</p>` : ''}
        ${errorBlock}
        <input id="${id}" name="${id}" type="${options.type}" autocomplete="${options.autocomplete}" required${options.numeric ? html` inputmode="numeric"` : ''}${options.type === 'text' ? html` autocapitalize="none" spellcheck="false"` : ''}${options.value ? html` value="${options.value}"` : ''}${describedBy.length > 0 ? html` aria-describedby="${describedBy.join(' ')}"` : ''}${error ? html` aria-invalid="true"` : ''}${options.autofocus ? html` autofocus` : ''}>
      </div>`;
}

// ---- sign-in -----------------------------------------------------------------

export interface SignInView {
  readonly login?: string;
  readonly flash?: Flash;
  readonly errors?: readonly FieldError[];
  /** A page-wide problem (rate limited, plain HTTP). */
  readonly problem?: MessageKey;
}

export function renderSignIn(context: PageContext, view: SignInView = {}): string {
  const t = translator(context.lang);
  const errors = view.errors ?? [];
  const errorOf = (id: string) => errors.find((e) => e.field === id);
  const flash = view.flash === 'signed-out' ? t('signIn.signedOut') : view.flash === 'expired' ? t('signIn.expired') : undefined;
  const firstInvalid = errors[0]?.field;
  return layout(context, t('signIn.title'), html`${notice(flash)}${problem(view.problem ? t(view.problem) : undefined)}${errorSummary(t, errors)}    <p>${t('signIn.intro')}</p>
    <form method="post" action="/my/sign-in" novalidate>
      ${csrfField(context)}${field({ id: 'login', label: t('signIn.login'), type: 'text', autocomplete: 'username', value: view.login, error: errorOf('login'), autofocus: firstInvalid === 'login' || firstInvalid === undefined })}${field({ id: 'password', label: t('signIn.password'), type: 'password', autocomplete: 'current-password', error: errorOf('password'), autofocus: firstInvalid === 'password' })}
      <div class="buttons"><button type="submit">${t('signIn.submit')}</button></div>
    </form>`);
}

export function signInErrors(t: Translate, missing: { login: boolean; password: boolean }): FieldError[] {
  return [
    ...(missing.login ? [{ field: 'login', messages: [t('signIn.missingLogin')] }] : []),
    ...(missing.password ? [{ field: 'password', messages: [t('signIn.missingPassword')] }] : []),
  ];
}

// ---- status --------------------------------------------------------------------

export function renderStatus(context: PageContext, state: OwnPinState, flash?: Flash): string {
  const t = translator(context.lang);
  const date = (value: Date) => formatDate(context.lang, value);
  const address = maskAddress(state.mailTo);
  const flashText = flash === 'reset-sent' ? t('status.resetSent', { address }) : flash === 'pin-changed' ? t('status.pinChanged') : undefined;
  const mail = state.lastMail;
  const facts: Array<[string, string, string]> = [
    ['pin', t('status.pin'), state.hasPin && state.pinSetAt ? t('status.pinSetOn', { date: date(state.pinSetAt) }) : t('status.pinNotSet')],
    ['expires', t('status.expires'), state.expiresAt ? date(state.expiresAt) : t('status.expiresNever')],
    ['must-change', t('status.mustChange'), state.mustChange ? t('status.yes') : t('status.no')],
    ['locked-out', t('status.lockedOut'), state.lockedOut ? t('status.lockedYes') : t('status.no')],
    ['extension', t('status.extension'), state.extension],
    ['last-mail', t('status.lastMail'), mail ? t(`status.lastMail.${mail.status}`, { address, date: date(new Date(mail.at)) }) : t('status.lastMail.none')],
  ];
  return layout(context, t('status.title'), html`${notice(flashText, 'success')}    <dl class="facts">${facts.map(([key, name, value]) => html`
      <div><dt>${name}</dt><dd data-fact="${key}">${value}</dd></div>`)}
    </dl>
    <h2>${t('status.actions')}</h2>
    <ul class="actions">
      <li><a class="button" href="/my/reset">${t('status.reset')}</a><span class="hint">${t('status.resetHelp', { address })}</span></li>
      <li><a class="button secondary" href="/my/choose">${t('status.choose')}</a><span class="hint">${t('status.chooseHelp')}</span></li>
    </ul>`);
}

export function renderNotEnabled(context: PageContext): string {
  const t = translator(context.lang);
  return layout(context, t('status.title'), html`${problem(t('status.notEnabled'))}`);
}

// ---- reset -----------------------------------------------------------------------

export function renderResetConfirm(context: PageContext, mailTo: string, failure?: MessageKey): string {
  const t = translator(context.lang);
  return layout(context, t('reset.title'), html`${problem(failure ? t(failure) : undefined)}    <p>${t('reset.explain', { address: maskAddress(mailTo) })}</p>
    <form method="post" action="/my/reset">
      ${csrfField(context)}
      <div class="buttons"><button type="submit">${t('reset.confirm')}</button><a class="button secondary" href="/my/pin">${t('reset.cancel')}</a></div>
    </form>`);
}

// ---- choose ------------------------------------------------------------------------

export interface ChooseView {
  readonly errors?: readonly FieldError[];
  readonly problem?: MessageKey;
}

/** The policy's rules, as the checker applies them (src/pin/check.ts), shown before the user types. */
function policyRules(t: Translate, state: OwnPinState): string[] {
  const { policy } = state;
  return [
    t('rule.length', { min: policy.minPinLength, max: MAX_PIN_LENGTH }),
    ...(policy.allowCommonPatterns ? [] : [t('rule.repeated'), t('rule.sequential')]),
    t('rule.extension', { extension: state.extension }),
    t('rule.history', { count: policy.pinHistoryCount }),
    ...(policy.strictRules ? [t('rule.repeated-group'), t('rule.two-digits'), t('rule.triple'), t('rule.keypad-line'), t('rule.name')] : []),
  ];
}

export function pinFailures(t: Translate, failures: readonly PinRuleFailure[], state: OwnPinState): FieldError {
  return {
    field: 'pin',
    intro: t('choose.failedIntro'),
    messages: failures.map((f) => t(`failure.${f.id}`, { min: state.policy.minPinLength, max: MAX_PIN_LENGTH })),
    rules: failures.map((f) => f.id),
  };
}

export function renderChoose(context: PageContext, state: OwnPinState, view: ChooseView = {}): string {
  const t = translator(context.lang);
  const errors = view.errors ?? [];
  const errorOf = (id: string) => errors.find((e) => e.field === id);
  return layout(context, t('choose.title'), html`${problem(view.problem ? t(view.problem) : undefined)}${errorSummary(t, errors)}    <p id="rules-intro">${t('choose.rulesIntro')}</p>
    <ul id="rules" class="rules" aria-labelledby="rules-intro">${policyRules(t, state).map((rule) => html`<li>${rule}</li>`)}</ul>
    <form method="post" action="/my/choose" novalidate>
      ${csrfField(context)}${field({ id: 'pin', label: t('choose.pin'), type: 'password', autocomplete: 'off', numeric: true, hint: t('choose.pinHint'), describedBy: ['rules'], error: errorOf('pin'), autofocus: errors[0]?.field === 'pin' })}${field({ id: 'pin2', label: t('choose.confirm'), type: 'password', autocomplete: 'off', numeric: true, error: errorOf('pin2'), autofocus: errors[0]?.field === 'pin2' })}
      <div class="buttons"><button type="submit">${t('choose.submit')}</button><a class="button secondary" href="/my/pin">${t('choose.cancel')}</a></div>
    </form>`);
}

// ---- errors --------------------------------------------------------------------------

export function renderError(context: PageContext, message: MessageKey, next: '/my/' | '/my/pin' = '/my/'): string {
  const t = translator(context.lang);
  return layout(context, t('error.title'), html`${problem(t(message))}    <p><a href="${next}">${t('error.continue')}</a></p>`);
}
