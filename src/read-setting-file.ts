/**
 * The one way to read a file a setting names (a CA bundle, a TLS key, a password file): a file that is
 * missing, unreadable or not what the setting needs stops the start with a ConfigError naming the
 * setting and the path, never with a bare ENOENT from deep inside a driver.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

/** The file's text (UTF-8). */
export function readSettingFile(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new ConfigError(setting, `${file} cannot be read (${code}); check the path and that the service's user may read it.`, { cause: error });
  }
}

/** Every PEM certificate of the file, each checked to parse; at least one. */
export function readCertificateFile(setting: string, file: string): string[] {
  const certificates = readSettingFile(setting, file).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certificates.length === 0) throw new ConfigError(setting, `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  for (const pem of certificates) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new ConfigError(setting, `${file} holds a certificate that does not parse.`, { cause: error });
    }
  }
  return certificates;
}
