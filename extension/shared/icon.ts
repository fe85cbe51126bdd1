/**
 * The Balance Bridge mark as an SVG data URI: EIP-6963 requires `info.icon` to be a data URI
 * (RFC 2397) of at least 96×96 px; a vector image meets that at any size.
 */
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96">' +
  '<rect width="96" height="96" rx="20" fill="#1d4ed8"/>' +
  '<path d="M14 62 Q48 22 82 62" fill="none" stroke="#fff" stroke-width="7" stroke-linecap="round"/>' +
  '<path d="M14 66h68M30 50v16M48 42v24M66 50v16" stroke="#fff" stroke-width="5" stroke-linecap="round"/>' +
  "</svg>";

export const ICON_DATA_URI = `data:image/svg+xml,${encodeURIComponent(SVG)}`;
