import { storeContract } from "./contract.ts";
import { createMemoryStore } from "./memory.ts";

storeContract("memory", (options) => createMemoryStore(options));
