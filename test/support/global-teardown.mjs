// Jest global teardown: drops the schemas / databases the global setup created for this run.
import { connectAdmin, databaseType, NAMESPACE_VARIABLE, URL_VARIABLE } from './global-setup.mjs';

export default async function globalTeardown() {
  const type = databaseType();
  const namespace = process.env[NAMESPACE_VARIABLE];
  const url = process.env[URL_VARIABLE];
  if (type === 'sqlite' || !namespace || !url) return;
  const admin = await connectAdmin(type, url);
  try {
    await admin.dropByPrefix(`${namespace}_`);
  } finally {
    await admin.close();
  }
}
