/** The least-privilege ACL user README gives, read from README itself so the tests hold the README to its word. */
import { readFileSync } from 'node:fs';

function readme(): string {
  return readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
}

/** README's `ACL SETUSER reprise ...` line as arguments of ACL, with `password` for CHANGE-ME. */
export function readmeAclLine(password: string): string[] {
  const line = readme().split('\n').find((text) => text.startsWith('ACL SETUSER reprise '));
  if (!line) throw new Error('README has no "ACL SETUSER reprise" line');
  return line.replace('>CHANGE-ME', `>${password}`).split(' ').slice(1);
}

/** The permissions README says to add on a Redis Cluster ("On a Redis Cluster add `...`"). */
export function readmeClusterAdditions(): string[] {
  const found = /On a Redis Cluster add `([^`]+)`/.exec(readme().replace(/\n/g, ' '));
  if (!found) throw new Error('README names no permissions to add on a Redis Cluster');
  return found[1]!.split(' ');
}
