/** The package's version, stated once in package.json. */
export { PACKAGE_VERSION as VERSION } from './package-root.js';
