/** What `el` accepts as a child: nodes as they are, anything else as text (never as markup). */
export type Child = Node | string | number | boolean | null | undefined;

/** The element with this id, checked to be of the expected kind (the page is static markup). */
export function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`The page has no ${kind.name} #${id}.`);
  return node;
}

/** Builds an element; data goes in as text nodes, so an interaction's text cannot inject markup. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(
      child instanceof Node ? child : document.createTextNode(child == null ? '' : String(child)),
    );
  }
  return node;
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
