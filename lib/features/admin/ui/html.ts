import { h } from 'preact';
import htm from 'htm';

/** Preact's `h` as tagged templates: no JSX, no compile step beyond bundling. */
export const html = htm.bind(h);
