import { types } from 'node:util';
import type { CallStatus } from '../types.js';

/**
 * The caller's `status` object behind a guard: a frozen object, a setter or a proxy that throws
 * must not fail a call (nor leave it half-recorded), so every write the call path makes goes
 * through here and a failed one is reported instead.
 */
export function writeThrough(status: CallStatus, report: (error: unknown) => void): CallStatus {
  // A fresh `{}` (what callers pass, adapters on every call) takes every write: no guard to pay for.
  if (isBlank(status)) return status;
  // The proxy's target is a blank stand-in, not `status`: a set trap that reports success for a
  // read-only, non-configurable field of its target would itself throw (a proxy invariant).
  const standIn: CallStatus = {};
  return new Proxy(standIn, {
    set(_target, field, value) {
      try {
        if (!Reflect.set(status, field, value)) report(new TypeError(`\`status.${String(field)}\` is read-only`));
      } catch (error) {
        report(error);
      }
      return true;
    },
    get: (_target, field): unknown => Reflect.get(status, field),
  });
}

/** A plain, extensible object with no own property at all, and not a proxy: no write to it can fail. */
function isBlank(status: object): boolean {
  return !types.isProxy(status) && Object.getPrototypeOf(status) === Object.prototype && Object.isExtensible(status) && Reflect.ownKeys(status).length === 0;
}
