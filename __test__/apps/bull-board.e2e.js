'use strict';

// examples/bull-board, installed with the implementation under test as `bullmq`: bull-board's
// dashboard over two queues, looked at in a real headless chromium (the queue list, the jobs
// of a state, a job's details; a click on retry moves a failed job back to waiting), and its
// HTTP API promoting, removing and cleaning jobs, each effect read back through a Queue.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, startProcess, waitForHttp } = require('../helpers/apps');
const { ensureChromium, launchChromium } = require('../helpers/chromium');
const { implLabel } = require('../helpers/env');
const { Queue, Worker } = require('../helpers/impl');
const { connection, redisUrl, uniqueQueueName, cleanup } = require('../helpers/redis');
const { freePort, sleep } = require('../helpers/util');

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'bull-board');

// bull-board's "clean all" spares jobs that finished less than this long ago.
const CLEAN_GRACE_MS = 5000;

describe(`bull-board example with ${implLabel} as bullmq`, () => {
  const emailsName = uniqueQueueName('bb-emails');
  const reportsName = uniqueQueueName('bb-reports');
  let app;
  let server;
  let base;
  let browser;
  let page;
  let emails;
  let reports;
  const ids = {};

  // Jobs in every state the tests need: one completed (with a log and a result), one
  // failed, one delayed, two waiting; and a waiting job in the second queue.
  async function seed() {
    emails = new Queue(emailsName, { connection });
    reports = new Queue(reportsName, { connection });
    const settled = new Promise((resolve, reject) => {
      let finished = 0;
      const worker = new Worker(
        emailsName,
        async (job) => {
          if (job.name === 'bounce') throw new Error('mailbox unavailable');
          await job.log(`sent to ${job.data.to}`);
          return { sent: true };
        },
        { connection },
      );
      worker.on('error', reject);
      const onFinished = async () => {
        finished += 1;
        if (finished === 2) resolve(worker.close());
      };
      worker.on('completed', onFinished);
      worker.on('failed', onFinished);
    });
    ids.welcome = (await emails.add('welcome', { to: 'ada@example.com' })).id;
    ids.bounce = (await emails.add('bounce', { to: 'nobody@example.com' })).id;
    await settled;
    ids.digest = (await emails.add('digest', { week: 49 }, { delay: 3600000 })).id;
    ids.newsletter = (await emails.add('newsletter', { issue: 7 })).id;
    ids.spam = (await emails.add('spam', { to: 'everyone' })).id;
    ids.monthly = (await reports.add('monthly', { month: 11 })).id;
  }

  before(async () => {
    [app] = await Promise.all([installApp(EXAMPLE), seed(), ensureChromium()]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}/ui`;
    server = startProcess(process.execPath, ['server.js'], {
      cwd: app.dir,
      env: { REDIS_URL: redisUrl, QUEUE_NAMES: `${emailsName},${reportsName}`, PORT: String(port) },
    });
    await waitForHttp(`${base}/api/queues`, server);
    browser = await launchChromium(app.dir);
    page = await browser.newPage();
  }, { timeout: 900000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all([emails?.close(), reports?.close()]);
    await Promise.all([cleanup(emailsName), cleanup(reportsName)]);
    app?.dispose();
    await disposePacks();
  });

  async function api(method, url) {
    const res = await fetch(`${base}/api${url}`, { method });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** The card the page shows for job `id` of queue `name` (its link has the list's status, if any). */
  function card(name, id) {
    const link = `a[href$="/queue/${name}/${id}"], a[href*="/queue/${name}/${id}?"]`;
    return page.locator('[class*="card-"]').filter({ has: page.locator(link) });
  }

  test('the page lists both queues and the job counts of each state', async () => {
    await page.goto(`${base}/`);
    for (const name of [emailsName, reportsName]) {
      await page.locator(`nav a[title="${name}"]`).getByText(name, { exact: true }).waitFor();
    }
    const queues = (await api('GET', '/queues')).body.queues;
    const counts = Object.fromEntries(queues.map((q) => [q.name, q.counts]));
    assert.deepEqual(
      [counts[emailsName].completed, counts[emailsName].failed, counts[emailsName].delayed, counts[emailsName].waiting],
      [1, 1, 1, 2],
    );
    assert.equal(counts[reportsName].waiting, 1);
  });

  test('the failed list shows the failed job and its reason; the latest list shows the others', async () => {
    await page.goto(`${base}/queue/${emailsName}?status=failed`);
    const failed = card(emailsName, ids.bounce);
    await failed.getByText('bounce', { exact: true }).waitFor();
    await failed.getByText('mailbox unavailable').first().waitFor();
    assert.equal(await card(emailsName, ids.welcome).count(), 0);

    await page.goto(`${base}/queue/${emailsName}?status=latest`);
    for (const id of [ids.welcome, ids.bounce, ids.digest, ids.newsletter, ids.spam]) {
      await card(emailsName, id).waitFor();
    }
  });

  test("a job's details: its state, data, result and logs", async () => {
    await page.goto(`${base}/queue/${emailsName}/${ids.welcome}`);
    await page.getByText('welcome', { exact: true }).first().waitFor();
    const { status, body } = await api('GET', `/queues/${emailsName}/${ids.welcome}`);
    assert.equal(status, 200);
    assert.equal(body.status, 'completed');
    assert.deepEqual([body.job.name, body.job.data, body.job.returnValue], ['welcome', { to: 'ada@example.com' }, { sent: true }]);
    assert.deepEqual((await api('GET', `/queues/${emailsName}/${ids.welcome}/logs`)).body, ['sent to ada@example.com']);
  });

  test('a click on retry (and confirm) moves the failed job to waiting', async () => {
    await page.goto(`${base}/queue/${emailsName}?status=failed`);
    await card(emailsName, ids.bounce)
      .locator('[class*="jobActions"] button:has(svg.lucide-refresh-cw)')
      .click();
    const retried = page.waitForResponse((res) => res.url().endsWith(`/${ids.bounce}/retry`) && res.request().method() === 'PUT');
    await page.getByRole('button', { name: 'Confirm' }).click();
    assert.equal((await retried).status(), 204);
    assert.equal(await emails.getJobState(ids.bounce), 'waiting');
    assert.ok((await emails.getWaiting()).some((job) => job.id === ids.bounce));
    assert.equal(await emails.getFailedCount(), 0);
  });

  test('promote moves the delayed job to waiting', async () => {
    assert.equal(await emails.getJobState(ids.digest), 'delayed');
    assert.equal((await api('PUT', `/queues/${emailsName}/${ids.digest}/promote`)).status, 204);
    assert.equal(await emails.getJobState(ids.digest), 'waiting');
    assert.equal(await emails.getDelayedCount(), 0);
  });

  test('remove deletes one job', async () => {
    assert.equal((await api('PUT', `/queues/${emailsName}/${ids.spam}/clean`)).status, 204);
    assert.equal(await emails.getJob(ids.spam), undefined);
    assert.equal(await emails.getJobState(ids.spam), 'unknown');
  });

  test('clean removes the completed jobs past its grace time, and only those', async () => {
    const welcome = await emails.getJob(ids.welcome);
    await sleep(Math.max(0, welcome.finishedOn + CLEAN_GRACE_MS + 100 - Date.now()));
    assert.equal((await api('PUT', `/queues/${emailsName}/clean/completed`)).status, 200);
    assert.equal(await emails.getJob(ids.welcome), undefined);
    assert.equal(await emails.getCompletedCount(), 0);
    assert.deepEqual((await emails.getWaiting()).map((job) => job.id).sort(), [ids.bounce, ids.digest, ids.newsletter].sort());
    assert.equal(await reports.getWaitingCount(), 1);
  });

  test('the server exits by itself on SIGTERM', async () => {
    await browser.close();
    browser = undefined;
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output());
  });
});
