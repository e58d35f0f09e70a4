/** Express 4, installed under an alias so the router is tested on both majors. Its API is a subset of 5's types. */
declare module 'express4' {
  import express from 'express';
  export default express;
}
