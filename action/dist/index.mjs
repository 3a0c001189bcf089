import { createRequire as __gtbCreateRequire } from 'node:module'; const require = __gtbCreateRequire(import.meta.url);
import {
  main
} from "./chunks/chunk-GUA4SDYY.mjs";

// action/src/index.ts
void main();
