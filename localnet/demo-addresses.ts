/**
 * Public keys of `demoKeypair(name)` (see demo-keys.ts), spelled out so that config defaults need no crypto.
 * A unit test proves each equals its derivation.
 */
export const DEMO_ADDRESSES = Object.freeze({
  admin: "Ad1nGR2Xt29MYZC69wMp2K6At5o5E4cZATgb26iwyTUH",
  kamiyoMint: "5KjsrpAy6PZcFdRZY8QZC6B8qVchxeXNgQBeyjqxtEsw",
  usdcMint: "5foikC3PXXRwqhrmoNgoBGi4xRAsAu38RUWFMG3UuaC4",
  payTo: "AESikcywi2kofYE8Y1msoEKKesWtnepqqTJ1ePgFXyPV",
  facilitator: "8eQLmLuHYBBLykMsXBXRaqyzTqHSLubVhVbprfbfhk98",
  jupiterLiquidity: "7EzQb6oySnEVPuQRj1Mgkmb8NkgU97n75L3sVfcvp663",
});
