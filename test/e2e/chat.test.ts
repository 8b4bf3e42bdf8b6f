/**
 * The web app in a real browser (Debian chromium via playwright-core) against a real natter process:
 * sign-up, chat both ways, presence, typing, reload, server restart, XSS, private rooms, paging, phone width.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatterApi } from '../../client/http-api.js';
import { PASSWORD } from '../support/server.js';
import { range, TestClient } from '../support/ws-client.js';
import { CHROMIUM, ensureWebBuild, freePort, launch, NatterUnderTest, SHOTS, watch } from './browser.js';

const tag = `${process.pid}`;
const names = { ana: `ana${tag}`, ben: `ben${tag}`, cleo: `cleo${tag}` };
const lobby = `lobby ${tag}`;
const secret = `secret ${tag}`;
const XSS = '<img src=x onerror=alert(1)>';

let natter: NatterUnderTest;
let browser: Browser;
const contexts: BrowserContext[] = [];
let ana: Page;
let ben: Page;
let watched: Array<ReturnType<typeof watch>> = [];

async function newPage(viewport = { width: 1100, height: 760 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  watched.push(watch(page));
  await page.goto(natter.baseUrl);
  return page;
}

async function signUp(page: Page, username: string): Promise<void> {
  await page.getByRole('button', { name: 'No account? Sign up' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await page.getByTestId('me').filter({ hasText: username }).waitFor();
}

async function openRoom(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Refresh the room list' }).click();
  await page.locator(`[data-room="${name}"]`).click();
  await page.locator('#room-title', { hasText: name }).waitFor();
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

const bodies = (page: Page) => page.locator('[data-testid="message"]:not(.system) .body').allTextContents();
const seqsOn = async (page: Page) => (await page.locator('[data-testid="message"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq')))));
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png` });

async function expectEachOnce(page: Page, expected: string[]): Promise<void> {
  const seen = await bodies(page);
  for (const body of expected) expect(seen.filter((b) => b === body), `"${body}" exactly once`).toHaveLength(1);
  const seqs = await seqsOn(page);
  expect(seqs, 'seqs contiguous and ascending').toEqual(range(seqs[0]!, seqs[0]! + seqs.length - 1));
}

describe.skipIf(!CHROMIUM)('web app in chromium', () => {
  beforeAll(async () => {
    ensureWebBuild();
    natter = new NatterUnderTest(await freePort());
    await natter.start();
    browser = await launch();
    ana = await newPage();
    ben = await newPage();
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await natter?.stop();
    if (natter) rmSync(natter.dataDir, { recursive: true, force: true });
  });

  it('serves the app at / with a strict CSP, inside the 150 KB first-load budget', async () => {
    const res = await fetch(natter.baseUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${natter.baseUrl}/healthz`)).status).toBe(200);
    const assets = readdirSync('web/dist/assets').filter((f) => /\.(js|css)$/.test(f));
    const gz = assets.reduce((n, f) => n + gzipSync(readFileSync(`web/dist/assets/${f}`), { level: 9 }).length, 0);
    console.log(`web first load: ${(gz / 1024).toFixed(1)} KB JS+CSS gzipped`);
    expect(gz).toBeLessThan(150 * 1024);
  });

  it('two users sign up, join a room and chat both ways; presence and typing show', async () => {
    await shot(ana, '01-login');
    await signUp(ana, names.ana);
    await signUp(ben, names.ben);
    await ana.getByLabel('Name').fill(lobby);
    await ana.getByRole('button', { name: 'Create room' }).click();
    await ana.locator('#room-title', { hasText: lobby }).waitFor();
    await openRoom(ben, lobby);

    await ana.getByTestId('online-count').filter({ hasText: '2' }).waitFor();
    await say(ana, 'hi ben');
    await ben.locator('.msg .body', { hasText: 'hi ben' }).waitFor();
    await ben.getByLabel('Message', { exact: true }).fill('hi ana');
    await ben.getByLabel('Message', { exact: true }).press('Shift+Enter');
    await ben.getByLabel('Message', { exact: true }).pressSequentially('a second line');
    await ana.getByTestId('typing').filter({ hasText: `${names.ben} is typing…` }).waitFor();
    await shot(ana, '02-typing');
    await ben.getByLabel('Message', { exact: true }).press('Enter');
    await ana.locator('.msg .body', { hasText: 'a second line' }).waitFor();
    expect(await ana.locator('.msg .body', { hasText: 'a second line' }).textContent()).toBe('hi ana\na second line');
    await ana.locator('.msg.own .body', { hasText: 'hi ben' }).waitFor(); // own messages are marked
    await ana.locator('summary', { hasText: 'online' }).click();
    await ana.getByTestId('presence').filter({ hasText: names.ben }).waitFor();
    await shot(ana, '03-chat-ana');
    await ana.locator('summary', { hasText: 'online' }).click();
    for (const i of range(1, 4)) await say(i % 2 ? ana : ben, `line ${i}`);
    await ana.locator('.msg .body', { hasText: 'line 4' }).waitFor();
    await ben.locator('.msg .body', { hasText: 'line 4' }).waitFor();
    expect(await ana.getByTestId('day').count()).toBe(1);
    await shot(ben, '04-chat-ben');
  }, 60_000);

  it('a reload keeps the session and shows the whole conversation once', async () => {
    await ben.reload();
    await ben.getByTestId('me').filter({ hasText: names.ben }).waitFor();
    await openRoom(ben, lobby);
    await ben.locator('.msg .body', { hasText: 'line 4' }).waitFor();
    await expectEachOnce(ben, ['hi ben', 'hi ana\na second line', 'line 1', 'line 2', 'line 3', 'line 4']);
  }, 30_000);

  it('both reconnect after a server restart and see every message exactly once; sends wait until acked', async () => {
    await natter.stop();
    await ana.locator('.banner.shown', { hasText: 'Reconnecting' }).waitFor();
    await say(ana, 'sent while the server was down');
    await ana.getByTestId('pending').filter({ hasText: 'sent while the server was down' }).waitFor();
    await shot(ana, '05-reconnecting');
    await natter.start();
    await ana.locator('.banner[data-state="connected"]').waitFor({ state: 'attached', timeout: 30_000 });
    await ben.locator('.banner[data-state="connected"]').waitFor({ state: 'attached', timeout: 30_000 });
    await ben.locator('.msg .body', { hasText: 'sent while the server was down' }).waitFor();
    await say(ben, 'after the restart');
    await ana.locator('.msg .body', { hasText: 'after the restart' }).waitFor();
    expect(await ana.getByTestId('pending').count()).toBe(0);
    const all = ['hi ben', 'hi ana\na second line', 'line 1', 'line 2', 'line 3', 'line 4', 'sent while the server was down', 'after the restart'];
    await expectEachOnce(ana, all);
    await expectEachOnce(ben, all);
  }, 60_000);

  it('renders an HTML body as text and runs nothing', async () => {
    await say(ana, XSS);
    await ben.locator('.msg .body', { hasText: XSS }).waitFor();
    expect(await ben.locator('.msg .body', { hasText: XSS }).textContent()).toBe(XSS);
    expect(await ben.locator('.messages img').count()).toBe(0);
    await ben.reload();
    await openRoom(ben, lobby);
    await ben.locator('.msg .body', { hasText: XSS }).waitFor();
    expect(await ben.locator('.messages img').count()).toBe(0);
    await shot(ben, '06-xss-as-text');
    for (const w of watched) expect(w.dialogs).toEqual([]);
  }, 30_000);

  it('keeps a private room invisible to non-members until they are added', async () => {
    const cleo = await newPage();
    await signUp(cleo, names.cleo);
    await ana.getByLabel('Name').fill(secret);
    await ana.getByLabel('Visibility').selectOption('private');
    await ana.getByRole('button', { name: 'Create room' }).click();
    await ana.locator('#room-title', { hasText: secret }).waitFor();
    await say(ana, 'for members only');
    for (const page of [ben, cleo]) {
      await page.getByRole('button', { name: 'Refresh the room list' }).click();
      await page.locator(`[data-room="${lobby}"]`).waitFor();
      expect(await page.locator(`[data-room="${secret}"]`).count()).toBe(0);
    }
    await shot(cleo, '07-private-room-hidden');
    await ana.locator('summary', { hasText: 'online' }).click();
    await ana.getByLabel('Add a member').fill(names.ben);
    await ana.getByRole('button', { name: 'Add', exact: true }).click();
    await ana.getByText(`${names.ben} was added.`).waitFor();
    await shot(ana, '08-add-member');
    await openRoom(ben, secret);
    await ben.locator('.msg .body', { hasText: 'for members only' }).waitFor();
    await cleo.getByRole('button', { name: 'Refresh the room list' }).click();
    expect(await cleo.locator(`[data-room="${secret}"]`).count()).toBe(0);
    expect(await cleo.locator('.unread').count()).toBe(0);
  }, 60_000);

  it('pages a long room: older pages on scroll up, never more than a window of rows in the DOM', async () => {
    const api = new NatterApi({ baseUrl: natter.baseUrl });
    const { access_token } = await api.login(names.ben, PASSWORD);
    const room = (await api.createRoom(access_token, `long ${tag}`)).id;
    const ws = await TestClient.connect(`ws://127.0.0.1:${natter.port}/ws`, access_token);
    await ws.call('room.join', { room });
    await Promise.all(range(1, 600).map((i) => ws.call('message.send', { room, body: `bulk ${i}`, client_msg_id: `b${i}` })));
    await ws.close();
    await openRoom(ana, `long ${tag}`);
    await ana.locator('.msg .body', { hasText: /^bulk 600$/ }).waitFor();
    expect(await ana.locator('[data-testid="message"]').count()).toBeLessThanOrEqual(60);
    const scroller = ana.getByTestId('messages');
    const beginning = ana.getByText('This is the beginning of the room.');
    for (let i = 0; i < 60 && (await beginning.count()) === 0; i++) {
      await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
      await ana.locator('.list-top button[disabled]').waitFor({ state: 'detached' });
      expect(await ana.locator('[data-testid="message"]').count()).toBeLessThanOrEqual(120);
    }
    await ana.locator('.msg .body', { hasText: /^bulk 1$/ }).waitFor();
    await beginning.waitFor();
    expect(await ana.locator('[data-testid="message"]').count()).toBeLessThanOrEqual(130);
    await shot(ana, '09-beginning-of-long-room');
    await ana.getByRole('button', { name: 'Jump to latest ↓' }).click();
    await ana.locator('.msg .body', { hasText: /^bulk 600$/ }).waitFor();
    expect(await ana.locator('[data-testid="message"]').count()).toBeLessThanOrEqual(130);
  }, 90_000);

  it('works at phone width; logging out forgets the session; an expired session ends on the login form', async () => {
    const phone = await newPage({ width: 390, height: 780 });
    await phone.getByLabel('Username').fill(names.ben);
    await phone.getByLabel('Password').fill(PASSWORD);
    await phone.getByRole('button', { name: 'Log in', exact: true }).click();
    await phone.getByTestId('me').waitFor();
    await shot(phone, '10-phone-rooms');
    await phone.locator(`[data-room="${lobby}"]`).click();
    await phone.locator('.msg .body', { hasText: 'after the restart' }).waitFor();
    expect(await phone.locator('.sidebar').isVisible()).toBe(false);
    await shot(phone, '11-phone-room');
    await phone.getByRole('button', { name: 'Back to the room list' }).click();
    await phone.getByRole('button', { name: 'Log out' }).click();
    await phone.getByText('You have logged out.').waitFor();
    type Storage = { localStorage: { getItem(key: string): string | null } };
    expect(await phone.evaluate(() => (globalThis as unknown as Storage).localStorage.getItem('natter.session'))).toBeNull();
    await phone.reload();
    await phone.getByRole('button', { name: 'Log in', exact: true }).waitFor();
    // A stored session whose refresh token no longer works ends cleanly on the login form.
    type Store = { localStorage: { setItem(key: string, value: string): void } };
    await phone.evaluate(() => (globalThis as unknown as Store).localStorage.setItem('natter.session', JSON.stringify({ refresh_token: 'revoked', user: { id: 'x', username: 'x', created_at: '' } })));
    await phone.reload();
    await phone.getByText('Your session has expired. Please log in again.').waitFor();
    expect(await phone.evaluate(() => (globalThis as unknown as Storage).localStorage.getItem('natter.session'))).toBeNull();
    await shot(phone, '12-phone-session-expired');
    for (const w of watched) expect(w.errors).toEqual([]);
  }, 60_000);
});
