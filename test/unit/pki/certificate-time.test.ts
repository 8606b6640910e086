/** Validity times in every form X.509 allows, and names that are empty. */
import { parseCertificateDer, oneLine } from '../../../src/pki/certificate';
import { readSingle } from '../../../src/pki/der';
import { decodeTime } from '../../../src/pki/certificate';
import { sequence } from '../../../src/pki/der';
import { generalizedTime, rawCa, utcTime } from './raw-certificate';

describe('certificate validity times, read as Go (and so Kuma) reads them', () => {
  it.each([
    ['UTCTime 1950 (the first year it holds)', utcTime('500101000000Z'), '1950-01-01T00:00:00.000Z'],
    ['UTCTime 2049 (the last)', utcTime('491231235959Z'), '2049-12-31T23:59:59.000Z'],
    ['UTCTime without seconds', utcTime('2405061530Z'), '2024-05-06T15:30:00.000Z'],
    ['UTCTime with an offset', utcTime('240506153000+0130'), '2024-05-06T14:00:00.000Z'],
    ['UTCTime with a negative offset', utcTime('2405061530-0500'), '2024-05-06T20:30:00.000Z'],
    ['GeneralizedTime year 0001', generalizedTime('00010101000000Z'), '0001-01-01T00:00:00.000Z'],
    ['GeneralizedTime year 0099 (not 1999)', generalizedTime('00991231235959Z'), '0099-12-31T23:59:59.000Z'],
    ['GeneralizedTime 1949', generalizedTime('19491231235959Z'), '1949-12-31T23:59:59.000Z'],
    ['GeneralizedTime 2050', generalizedTime('20500101000000Z'), '2050-01-01T00:00:00.000Z'],
    ['GeneralizedTime 9999 (RFC 5280 "no well-defined expiration")', generalizedTime('99991231235959Z'), '9999-12-31T23:59:59.000Z'],
    ['GeneralizedTime with an offset', generalizedTime('20500101120000+0200'), '2050-01-01T10:00:00.000Z'],
    ['a leap day', generalizedTime('20480229000000Z'), '2048-02-29T00:00:00.000Z'],
  ])('decodes %s', (_name, node, iso) => {
    expect(decodeTime(readSingle(node)).toISOString()).toBe(iso);
  });

  it.each([
    ['GeneralizedTime without a zone (local time of an unknown place)', generalizedTime('20500101000000'), /no time zone/],
    ['GeneralizedTime with a fraction (RFC 5280 forbids it; Go refuses it)', generalizedTime('20500101000000.250Z'), /fractional seconds/],
    ['GeneralizedTime with a comma fraction', generalizedTime('20500101000000,5Z'), /fractional seconds/],
    ['GeneralizedTime to the minute', generalizedTime('205001011230Z'), /expected GeneralizedTime/],
    ['a zero offset not written Z', utcTime('200101000000+0000'), /zero offset is written Z/],
    ['a leap second (Go refuses it)', utcTime('161231235960Z'), /not a calendar date/],
    ['February 30', generalizedTime('20500230000000Z'), /not a calendar date/],
    ['February 29 of a common year', generalizedTime('21000229000000Z'), /not a calendar date/],
    ['hour 24', utcTime('240506240000Z'), /not a calendar date/],
    ['a UTCTime with four-digit year', utcTime('20240506153000Z'), /expected UTCTime/],
    ['letters', generalizedTime('2050O101000000Z'), /expected GeneralizedTime/],
  ])('refuses %s with a reason', (_name, node, reason) => {
    expect(() => decodeTime(readSingle(node))).toThrow(reason);
  });

  it('reads a certificate valid from year 0001 to 9999 with its real dates (not 1901)', () => {
    const ca = rawCa({ notBefore: generalizedTime('00010101000000Z'), notAfter: generalizedTime('99991231235959Z') });
    const info = parseCertificateDer(ca.der);
    expect(info.notBefore.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(info.notAfter.toISOString()).toBe('9999-12-31T23:59:59.000Z');
  });
});

describe('empty names', () => {
  it('reads a certificate with an empty subject and prints it as such', () => {
    const info = parseCertificateDer(rawCa({ subject: sequence() }).der);
    expect(info.subject).toBe('');
    expect(info.issuer).toBe('');
    expect(oneLine(info.subject)).toBe('empty subject');
    expect(oneLine(undefined)).toBe('empty subject');
  });
});
