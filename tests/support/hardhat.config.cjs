// Hardhat 2 config for the integration tests' local chain: the in-process "hardhat" network with chainId
// 31337 and automine (every transaction is mined in its own block as soon as it arrives), served over
// JSON-RPC by `hardhat node --config tests/support/hardhat.config.cjs`. The accounts are Hardhat's defaults
// (mnemonic "test test … junk"), each funded with 10 000 ETH.
/** @type {import("hardhat/config").HardhatUserConfig} */
module.exports = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      chainId: 31337,
      mining: { auto: true, interval: 0 },
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
        accountsBalance: "10000000000000000000000",
      },
      loggingEnabled: false,
    },
  },
  paths: {
    // Keep Hardhat's cache/artifacts out of the source tree root (both are git-ignored anyway).
    cache: "../../cache/hardhat",
    artifacts: "../../artifacts/hardhat",
  },
};
