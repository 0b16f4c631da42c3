import { describeDocPage } from '../support/docs/doc-page-suite.js';

/**
 * docs/walkthrough.md is run as written: every shell block, in order, with
 * bash and curl against a freshly started sample app, each output checked
 * against the page. SQLite whatever DB_TYPE says (the sample's own database).
 */
describeDocPage('docs/walkthrough.md');
