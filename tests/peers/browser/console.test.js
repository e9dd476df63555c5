// console.test.js - the support console in Debian's headless chromium,
// driven by playwright-core (no browser download: /usr/bin/chromium).
//
//   node console.test.js   with env BASE (http://127.0.0.1:PORT), SHOTS
//   (folder for screenshots), PROFILE (a fresh --user-data-dir), PASSWORD
//   (every account's), NINO (of the rejected claim, as on the form),
//   FIXED_NINO (the right one), SERVICE (for the assisted form).
//
// Each step prints "ok   ..." or throws (exit 1).  Screenshots are taken
// at every page that matters, for a person to look at.
'use strict';
const { chromium } = require('playwright-core');

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} not set`);
  return v;
};
const BASE = env('BASE'), SHOTS = env('SHOTS'), PROFILE = env('PROFILE');
const PASSWORD = env('PASSWORD'), NINO = env('NINO');
const FIXED = env('FIXED_NINO'), SERVICE = env('SERVICE');
let n = 0;
const ok = (what) => console.log(`ok   ${what}`);
const must = (cond, what) => { if (!cond) throw new Error(`FAIL ${what}`); };

async function shot(page, name) {
  n += 1;
  const file = `${SHOTS}/${String(n).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
}

async function signIn(page, name) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Staff name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/search/);
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login\?out=1/);
}

(async () => {
  const ctx = await chromium.launchPersistentContext(PROFILE, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  // nothing may be fetched from anywhere but the console itself
  const origin = new URL(BASE).origin;
  const foreign = [];
  ctx.on('request', (req) => {
    if (!req.url().startsWith(origin) && !req.url().startsWith('data:'))
      foreign.push(req.url());
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  try {
    // 1. sign in as support staff; a wrong password first
    await page.goto(`${BASE}/search`);
    must(page.url().includes('/login'), 'signed-out pages send you to sign in');
    await page.getByLabel('Staff name').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    must(await page.locator('.govuk-error-summary').isVisible(),
         'a wrong password shows the error summary');
    await shot(page, 'login-error');
    await signIn(page, 'alice');
    const cookies = await ctx.cookies();
    const c = cookies.find((k) => k.name === 'ferry_console');
    must(c && c.httpOnly && c.secure && c.sameSite === 'Strict',
         `session cookie HttpOnly, Secure, SameSite=Strict: ${JSON.stringify(c)}`);
    ok('sign in (a wrong password refused with the error summary; cookie HttpOnly, Secure, SameSite=Strict)');

    // 2. find the claim by NINO, typed as the citizen says it
    await page.getByLabel('nino').fill(NINO.toLowerCase().replace(/ /g, ''));
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.locator('table.govuk-table tbody tr');
    must(await rows.count() === 1, `one record found by NINO, got ${await rows.count()}`);
    must((await rows.first().innerText()).includes('rejected'), 'it is rejected');
    await shot(page, 'search-by-nino');
    const ref = (await rows.first().locator('th a').innerText()).trim();
    ok(`find by NINO: ${ref} (rejected)`);

    // 3. its timeline shows the rejection, masked
    await rows.first().locator('th a').click();
    const body = await page.locator('main').innerText();
    must(body.includes('E01: National Insurance number not recognised'), 'the rejection reason is shown');
    must(!body.includes(NINO.replace(/ /g, '')), 'the NINO is masked');
    must(body.includes('***'), 'personal fields show as ***');
    await shot(page, 'record-rejected');
    ok('the record: the back end\'s reason, personal data masked');

    // 4. fix the NINO, check the masked diff, requeue with a reason
    await page.getByRole('link', { name: 'Fix and requeue' }).click();
    await page.getByLabel('nino').fill('not a nino');
    await page.getByRole('button', { name: 'Check the change' }).click();
    must(await page.locator('.govuk-error-summary').isVisible(),
         'a bad value is refused with the error summary');
    must((await page.locator('.govuk-error-summary').innerText()).includes('National Insurance number'),
         'the summary gives the mapping\'s plain message');
    await shot(page, 'edit-invalid');
    await page.getByLabel('nino').fill(FIXED);
    await page.getByRole('button', { name: 'Check the change' }).click();
    const diff = await page.locator('table.ferry-diff').innerText();
    must(diff.includes('nino') && diff.includes('***'), `masked diff: ${diff}`);
    must(!diff.includes(FIXED.replace(/ /g, '')), 'the new NINO is not shown in the diff');
    await page.getByLabel(/Reason for the change/).fill('citizen phoned with the right NI number');
    await shot(page, 'edit-check');
    await page.getByRole('button', { name: 'Confirm and requeue' }).click();
    must((await page.locator('.govuk-notification-banner').innerText()).includes('requeued'),
         'fixed and requeued');
    must((await page.locator('h1').innerText()).includes('queued'), 'now queued');
    await shot(page, 'requeued');
    ok('fix the field: invalid value refused, masked diff, requeued');

    // 5. the audit entry, with the staff name
    await page.getByRole('link', { name: 'Audit log' }).click();
    const audit = page.locator('table.govuk-table tbody tr', { hasText: ref });
    const entry = await audit.filter({ hasText: 'edit' }).first().innerText();
    must(entry.includes('alice') && entry.includes('citizen phoned'),
         `audit entry names alice and the reason: ${entry}`);
    must(entry.includes('nino (personal, changed)'), 'names the field, not its values');
    must(!(await page.locator('main').innerText()).includes(FIXED.replace(/ /g, '')),
         'no NINO in the audit page');
    await shot(page, 'audit');
    ok('the audit entry: alice, the reason, "nino (personal, changed)"');

    // 5b. the queue: bulk hold of the other rejected claim, reason required
    await page.getByRole('link', { name: 'Queue' }).click();
    const open = page.locator('table.govuk-table tbody tr');
    must(await open.count() === 1, `one record still needs a person: ${await open.count()}`);
    const other = (await open.first().locator('th a').innerText()).trim();
    await shot(page, 'queue');
    await page.locator(`#sel-${other}`).check();
    await page.getByLabel('Action').selectOption('hold');
    await page.getByRole('button', { name: 'Apply to selected' }).click();
    must((await page.locator('.govuk-error-summary').innerText()).includes('reason'),
         'a bulk action without a reason is refused');
    await page.locator(`#sel-${other}`).check();
    await page.getByLabel('Action').selectOption('hold');
    await page.getByLabel(/Reason \(required/).fill('citizen asked us to wait');
    await page.getByRole('button', { name: 'Apply to selected' }).click();
    must((await page.locator('.govuk-notification-banner').innerText()).includes('hold: 1 of 1'),
         'the bulk hold is done');
    await shot(page, 'queue-bulk-hold');
    ok(`the queue: bulk hold of ${other} (a reason required)`);

    // 6. the assisted digital form: refused blank, then accepted
    await page.getByRole('link', { name: 'Assisted digital' }).click();
    await page.getByRole('link', { name: SERVICE }).click();
    await page.getByRole('button', { name: 'Submit for the citizen' }).click();
    const sum = page.locator('.govuk-error-summary');
    must(await sum.isVisible(), 'a blank form shows the error summary');
    await sum.locator('a').first().click();
    await shot(page, 'assisted-errors');
    const fill = async (label, v) => page.getByLabel(label, { exact: true }).fill(v);
    const fillAll = async (surname) => {
      await fill('form_ref', 'AD0000001X');
      await fill('submitted_at', '2026-11-27T10:00:00Z');
      await fill('forename', 'Gwen');
      await fill('surname', surname);
      await fill('nino', 'JG 10 37 25 B');
      await fill('dob', '01/02/1950');
      await fill('postcode', 'SA1 1AA');
      await page.getByLabel('claim_type').selectOption('Warm home');
      await fill('amount', '120.00');
      await fill('sort_code', '12 34 56');
      await fill('account_no', '12345678');
      await page.getByRole('button', { name: 'Submit for the citizen' }).click();
    };
    // a surname the mainframe's code page cannot hold is refused at this
    // door too, naming the target, and nothing is stored
    await fillAll('\u738b');
    const sum2 = page.locator('.govuk-error-summary');
    must(await sum2.isVisible(), 'a surname the mainframe cannot encode shows the error summary');
    must((await sum2.innerText()).includes('cannot be encoded for target claims-mainframe'),
         `the target's problem: ${await sum2.innerText()}`);
    must(!(await page.locator('.govuk-panel').isVisible()), 'no confirmation for the refused form');
    ok('assisted digital form: a value the mainframe cannot encode refused, naming the target');
    await fillAll('Evans');
    const panel = page.locator('.govuk-panel');
    must(await panel.isVisible(), 'the confirmation panel');
    const aref = (await page.locator('#reference').innerText()).trim();
    must(/^FRY-\d{8}-\d+$/.test(aref), `a reference to read back: ${aref}`);
    await shot(page, 'assisted-confirmation');
    await page.getByRole('link', { name: 'see the record' }).click();
    const arec = await page.locator('main').innerText();
    must(arec.includes('assisted') && arec.includes('assisted-intake') && arec.includes('alice'),
         'stored as assisted, audited with the staff name');
    await page.goto(`${BASE}/search?nino=jg103725b`);
    must((await page.locator('main').innerText()).includes(aref), 'found by its NINO');
    ok(`assisted digital form: errors summarised, ${aref} stored as assisted and found by NINO`);

    // 7. a forged form without the CSRF token is refused (the page's
    // own Hold form with its token taken out; fetch() is blocked by the
    // console's Content-Security-Policy anyway)
    await page.goto(`${BASE}/record?ref=${ref}`);
    await page.evaluate(() => {
      const f = document.querySelector('form[action="/record/action"]');
      f.querySelector('input[name=csrf]').remove();
    });
    await page.locator('form[action="/record/action"]').first()
      .locator('input[name=reason]').fill('forged');
    const [forged] = await Promise.all([
      page.waitForResponse((res) => res.url().endsWith('/record/action')),
      page.locator('form[action="/record/action"]').first()
        .locator('button').click(),
    ]);
    must(forged.status() === 403, `a POST without the token is refused: ${forged.status()}`);
    must((await page.locator('h1').innerText()).includes('expired'), 'says why');
    await shot(page, 'forged-refused');
    await page.goto(`${BASE}/record?ref=${ref}`);
    must((await page.locator('h1').innerText()).includes('queued'), 'nothing changed');
    ok('a forged form without the CSRF token: 403, nothing changed');

    // 8. sign out: the session is gone
    await signOut(page);
    await shot(page, 'signed-out');
    await page.goto(`${BASE}/record?ref=${ref}`);
    must(page.url().includes('/login'), 'after sign-out pages need signing in');
    ok('sign out');

    // 9. a viewer sees the record but cannot requeue it
    await signIn(page, 'victor');
    await page.goto(`${BASE}/record?ref=${ref}`);
    must(await page.getByRole('button', { name: 'Hold' }).count() === 0,
         'no action buttons for a viewer');
    must(await page.getByRole('link', { name: 'Fix and requeue' }).count() === 0,
         'no fix link for a viewer');
    await shot(page, 'viewer-record');
    // a hand-made form with the viewer's own valid token
    await page.evaluate((r) => {
      const csrf = document.querySelector('input[name=csrf]').value;
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/record/action';
      for (const [k, v] of [['csrf', csrf], ['ref', r], ['action', 'retry'],
                            ['reason', 'viewer tries']]) {
        const i = document.createElement('input');
        i.type = 'hidden'; i.name = k; i.value = v;
        f.appendChild(i);
      }
      const b = document.createElement('button');
      b.id = 'viewer-forge';
      b.textContent = 'go';
      f.appendChild(b);
      document.body.appendChild(f);
    }, ref);
    const [vres] = await Promise.all([
      page.waitForResponse((res) => res.url().endsWith('/record/action')),
      page.locator('#viewer-forge').click(),
    ]);
    const viewer = vres.status();
    const edit = await page.goto(`${BASE}/edit?ref=${ref}`);
    must(edit.status() === 403, 'the edit page is refused to a viewer');
    await shot(page, 'viewer-forbidden');
    await page.goto(`${BASE}/search`);
    await signOut(page);
    ok('a viewer cannot requeue (no buttons; 403 with a valid token)');

    // 10. the day's report
    await signIn(page, 'sam');
    await page.goto(`${BASE}/report`);
    must((await page.content()).toLowerCase().includes('report'), 'the report renders');
    await shot(page, 'report');
    await page.goto(`${BASE}/audit`);
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    must((await page.locator('.govuk-notification-banner').innerText()).includes('intact'),
         'a supervisor verifies the audit chain');
    await shot(page, 'audit-verified');
    ok('supervisor: the day\'s report, the audit chain verified');

    must(foreign.length === 0, `no request left the console: ${foreign.join(' ')}`);
    ok('no asset fetched from anywhere else');
  } catch (err) {
    try { await shot(page, 'failure'); } catch (e) { /* best effort */ }
    console.log(String(err && err.stack || err));
    await ctx.close();
    process.exit(1);
  }
  await ctx.close();
})();
