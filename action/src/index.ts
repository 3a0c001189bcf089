// The action's entry point: all logic lives in main.ts so tests can import it without side effects.
import { main } from './main.js'

void main()
