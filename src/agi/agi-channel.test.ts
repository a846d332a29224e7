/**
 * The FastAGI reader against the reply lines res_agi.c writes (emulated here
 * byte for byte: no Asterisk package exists for this machine).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { AgiChannel, AgiSessionEnded, MAX_LINE_BYTES, quoteAgiArgument } from './agi-channel.ts';
import { parseAgiArgs } from '../../test/support/asterisk-agi-emulation.ts';

/** A connected pair: the channel under test on one end, the emulated Asterisk's raw socket on the other. */
async function pair(readTimeoutMs = 1000): Promise<{ channel: AgiChannel; asterisk: net.Socket; received: string[]; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const asterisk = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await accepted;
  const received: string[] = [];
  asterisk.setEncoding('latin1');
  asterisk.on('data', (chunk: string) => received.push(...chunk.split('\n').filter((l) => l !== '')));
  asterisk.on('error', () => undefined);
  return { channel: new AgiChannel(socket, readTimeoutMs), asterisk, received, close: () => { asterisk.destroy(); socket.destroy(); server.close(); } };
}

describe('AgiChannel (res_agi.c replies, emulated)', () => {
  it('reads the agi_network header and the environment block in order, up to the empty line', async () => {
    const { channel, asterisk, close } = await pair();
    asterisk.write('agi_network: yes\nagi_network_script: logon\nagi_request: agi://127.0.0.1/logon\nagi_channel: PJSIP/2001-00000001\n');
    asterisk.write('agi_callerid: 2001\nagi_accountcode: \nagi_arg_1: 2001@default\nagi_arg_2: sales\n\n');
    const environment = await channel.readEnvironment();
    assert.equal(environment.script, 'logon');
    assert.deepEqual(environment.args, ['2001@default', 'sales']);
    assert.equal(environment.variables.get('agi_accountcode'), '');
    assert.equal(environment.variables.get('agi_callerid'), '2001');
    close();
  });

  it('parses 200 result= with digits, (timeout), -1, 510, multi-line 520 and 511', async () => {
    const { channel, asterisk, received, close } = await pair();
    const replies = [
      '200 result=482916\n',
      '200 result=48 (timeout)\n',
      '200 result= (timeout)\n',
      '200 result=-1\n',
      '200 result=0 endpos=8000\n',
      '510 Invalid or unknown command\n',
      '520-Invalid command syntax.  Proper usage follows:\n Usage: GET DATA <file to be streamed> [timeout] [max digits]\n520 End of proper usage.\n',
      '511 Command Not Permitted on a dead channel or intercept routine\n',
      '200 result=1\n',
    ];
    const answers = [];
    for (const reply of replies) {
      const pending = channel.command('GET DATA vm-password 6000 24');
      asterisk.write(reply);
      answers.push(await pending);
    }
    assert.deepEqual(answers, [
      { code: 200, result: '482916', timedOut: false },
      { code: 200, result: '48', timedOut: true },
      { code: 200, result: '', timedOut: true },
      { code: 200, result: '-1', timedOut: false },
      { code: 200, result: '0', timedOut: false },
      { code: 510, result: undefined, timedOut: false },
      { code: 520, result: undefined, timedOut: false },
      { code: 511, result: undefined, timedOut: false },
      { code: 200, result: '1', timedOut: false },
    ], 'the reply after the 520 usage text is read as its own');
    assert.equal(received.length, replies.length);
    close();
  });

  it('takes an inline HANGUP, before or after a reply, as an event and not as the reply', async () => {
    const { channel, asterisk, close } = await pair();
    const first = channel.command('SET VARIABLE UMPIN_RESULT "error"');
    asterisk.write('HANGUP\n200 result=1\n');
    assert.deepEqual(await first, { code: 200, result: '1', timedOut: false });
    assert.equal(channel.hungUp, true);
    close();
    const second = await pair();
    const pending = second.channel.command('GET DATA vm-reenterpassword 6000 24');
    second.asterisk.write('200 result=593018\nHANGUP\n');
    assert.equal((await pending).result, '593018');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second.channel.hungUp, true, 'marked as soon as it arrives');
    second.close();
  });

  it('ends the session on an oversized line, an endless line, silence, or a reply that is not AGI', async () => {
    const cases: Array<[string, AgiSessionEnded['reason']]> = [
      [`200 result=${'1'.repeat(MAX_LINE_BYTES + 10)}\n`, 'line-too-long'],
      ['2'.repeat(MAX_LINE_BYTES + 10), 'line-too-long'],
      ['', 'timeout'],
      ['HTTP/1.1 200 OK\n', 'protocol'],
    ];
    for (const [bytes, reason] of cases) {
      const { channel, asterisk, close } = await pair(300);
      const pending = channel.command('GET DATA vm-password 6000 24');
      if (bytes !== '') asterisk.write(bytes);
      await assert.rejects(pending, (error: unknown) => error instanceof AgiSessionEnded && error.reason === reason);
      await assert.rejects(channel.command('SET VARIABLE A "1"'), AgiSessionEnded, 'nothing more is sent');
      close();
    }
  });

  it('quotes an argument so that res_agi.c parse_args reads it back whole', () => {
    for (const value of ['', 'ok', 'two words', 'a"quote', 'back\\slash', '1234@default']) {
      assert.deepEqual(parseAgiArgs(`SET VARIABLE X ${quoteAgiArgument(value)}`), ['SET', 'VARIABLE', 'X', value]);
    }
  });
});
