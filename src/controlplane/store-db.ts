/** The SQLite handle the store's parts share: statements prepared once, transactions that nest. */
import type Database from 'better-sqlite3';

export class StoreDb {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  /** Each SQL text is prepared once: preparing costs more than running the small queries acks and issuance make per proxy. */
  prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
