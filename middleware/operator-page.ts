/**
 * The operator page: static files (operator/ at the package root: HTML, CSS and plain ES modules, no build step)
 * served at the router's root. They hold no data, so they are served before authentication; the page reads and
 * drives reprise through the JSON admin routes with the token the operator enters, so auth stays where it is.
 *
 * Every file goes out with a strict Content-Security-Policy (scripts, styles and requests from this origin only, no
 * inline script, no framing) and `nosniff`. Only GET and HEAD of a file that exists answer here; anything else goes
 * on to the admin routes (and their JSON 401/403/404/405).
 */
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response, Router } from 'express';
import type expressDefault from 'express';

/** operator/ beside middleware/ in the sources and beside dist/ in the package: one level up either way. */
export const OPERATOR_DIR = fileURLToPath(new URL('../operator/', import.meta.url));

export const OPERATOR_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  // For browsers that predate frame-ancestors.
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // Revalidated on every load (ETag), so an upgraded package shows its own page at once.
  'Cache-Control': 'no-cache',
};

export function operatorPage(express: typeof expressDefault): Router {
  const page = express.Router();
  page.get('/', redirectToTrailingSlash);
  page.use(
    express.static(OPERATOR_DIR, {
      index: 'index.html',
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res: Response) => {
        for (const [name, value] of Object.entries(OPERATOR_PAGE_HEADERS)) res.setHeader(name, value);
      },
    }),
  );
  return page;
}

/**
 * The page names its files relatively (`main.js`, `cache/stats`), which resolves under the mount path only when the
 * address ends with a slash: `<mount>` is sent to `<mount>/`. The Location is relative to the last path segment, so
 * it works under any mount path (and any proxy prefix) and can never point to another origin.
 */
function redirectToTrailingSlash(req: Request, res: Response, next: NextFunction): void {
  const [path = '', query] = req.originalUrl.split(/\?(.*)/s, 2);
  if (path.endsWith('/')) {
    next();
    return;
  }
  const lastSegment = path.slice(path.lastIndexOf('/') + 1);
  res.setHeader('Location', `./${lastSegment}/${query === undefined ? '' : `?${query}`}`);
  res.status(301).end();
}
