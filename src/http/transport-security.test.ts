import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackAddress } from './transport-security.ts';

describe('isLoopbackAddress', () => {
  it('is true for the whole of 127/8, ::1 and IPv4-mapped loopback', () => {
    for (const address of ['127.0.0.1', '127.255.3.4', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) assert.equal(isLoopbackAddress(address), true, address);
  });

  it('is false for other hosts, look-alikes and what is not an address', () => {
    for (const address of ['128.0.0.1', '10.127.0.1', '1.127.0.0', '::ffff:10.0.0.1', '::2', 'fe80::1', 'localhost', '127.0.0.1.example.com', '', undefined]) {
      assert.equal(isLoopbackAddress(address), false, String(address));
    }
  });
});
