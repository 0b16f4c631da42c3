import { describeDocPage } from '../support/docs/doc-page-suite.js';

/**
 * docs/sample-app.md is run as written: every shell block, in order, with
 * bash and curl against a freshly started sample app, and with the operator
 * CLI and the TypeORM CLI on the sample's data source; each output checked
 * against the page. SQLite whatever DB_TYPE says (the sample's own database).
 */
describeDocPage('docs/sample-app.md');
