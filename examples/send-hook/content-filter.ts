/**
 * The example hook's content rules: no blocked words and no links. Words are matched whole, ignoring
 * case, accents and look-alike forms (NFKC: `ｓｐａｍ` is `spam`), so that `classic` does not match `ass`
 * and `Spam!` matches `spam`. A link is a URL with a scheme, a `www.` address, or a bare domain with a
 * well-known top-level domain (`example.com/offer`); an e-mail address counts as a link too, since it is
 * how spammers take a conversation elsewhere.
 */

export type ContentVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly why: 'word' | 'link' };

const LINK =
  /\b(?:[a-z][a-z0-9+.-]*:\/\/\S+|www\.\S+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|me|app|info|biz|xyz|link|ly|gg|tv|ru|cn)\b)/i;

/** One matcher for a list of words, built once. */
export function contentFilter(blockedWords: readonly string[]): (content: string) => ContentVerdict {
  const words = new Set(blockedWords.map(fold).filter((word) => word !== ''));
  return (content) => {
    if (LINK.test(content)) return { allowed: false, why: 'link' };
    for (const word of fold(content).split(/[^\p{L}\p{N}]+/u)) {
      if (words.has(word)) return { allowed: false, why: 'word' };
    }
    return { allowed: true };
  };
}

/** Lower case, compatibility forms folded, accents dropped. */
function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').normalize('NFKC').toLowerCase().trim();
}
