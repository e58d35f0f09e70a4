/**
 * What the command line prints stays the operator's: no escape sequence from the server reaches the terminal, and
 * neither a password in --url nor the token is ever repeated in a message.
 */
import { describe, expect, it } from 'vitest';
import { AdminClient, AdminRequestError } from '../../src/cli/admin-client.js';
import { visible } from '../../src/cli/program.js';

describe('command line output', () => {
  it('shows control characters from the server as escapes, keeping lines and tabs', () => {
    expect(visible('mood \u001b[31mred\u001b[0m\tok\nnext')).toBe('mood \\u001b[31mred\\u001b[0m\tok\nnext');
    expect(visible('bell\u0007 and del\u007f')).toBe('bell\\u0007 and del\\u007f');
  });

  it('refuses credentials in --url and a token that cannot travel in a header, without repeating either', () => {
    const refused = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(AdminRequestError);
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    const withPassword = refused(() => new AdminClient({ url: 'http://admin:s3cret-pass@localhost:3000/api/agents/system' }));
    expect(withPassword).toMatch(/must not hold a user name or password/);
    expect(withPassword).not.toContain('s3cret-pass');
    const badToken = refused(() => new AdminClient({ url: 'http://localhost:3000/x', token: 'tok-123\r\nX-Injected: 1' }));
    expect(badToken).toMatch(/printable ASCII/);
    expect(badToken).not.toContain('tok-123');
  });
});
