// Boots a fuzz worker thread: TypeScript through tsx's loader, then the worker itself.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
