import { describe, expect, it } from '@jest/globals';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { requestAddress, socketPeerAddress } from '../../lib/http/index.js';

/** A Node request on a socket whose peer is `address` (as the HTTP server would make it). */
function nodeRequest(address: string): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: address });
  return new IncomingMessage(socket);
}

describe('requestAddress: only objects the transport made give an address', () => {
  it("takes Express's req.ip (an IncomingMessage) and Fastify's (req.raw is one)", () => {
    const express = Object.assign(nodeRequest('10.0.0.1'), { ip: '203.0.113.7' });
    expect(requestAddress(express)).toBe('203.0.113.7');
    expect(requestAddress({ raw: nodeRequest('10.0.0.1'), ip: '203.0.113.8' })).toBe('203.0.113.8');
  });

  it("takes a bare Node request's socket peer (a WebSocket upgrade request), never its headers", () => {
    const upgrade = nodeRequest('127.0.0.1');
    upgrade.headers['x-forwarded-for'] = '203.0.113.7';
    expect(requestAddress(upgrade)).toBe('127.0.0.1');
  });

  it('gives nothing for objects a client could have written (JSON: GraphQL connectionParams, a payload)', () => {
    for (const written of [
      { ip: '203.0.113.7' },
      { socket: { remoteAddress: '203.0.113.7' } },
      { raw: { ip: '203.0.113.7', socket: { remoteAddress: '203.0.113.7' } }, ip: '203.0.113.7' },
      { headers: { 'x-forwarded-for': '203.0.113.7' } },
      JSON.parse('{"__proto__": {"ip": "203.0.113.7"}}'),
    ]) {
      expect(requestAddress(written)).toBeUndefined();
    }
    expect(socketPeerAddress({ remoteAddress: '203.0.113.7' })).toBeUndefined();
  });
});
