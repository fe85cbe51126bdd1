#!/usr/bin/env node
// Installs the system packages the test suite needs (Debian), only when they are missing.
// Nothing is needed yet beyond Node; the extension and Redis issues add chromium and redis-server here.
const needed = [];
if (needed.length === 0) process.exit(0);
