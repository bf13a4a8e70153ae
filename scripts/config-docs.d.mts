export function configDocs(schema: unknown): string;
