import { sendJson, type Handler } from '../context.js';

export const getBase: Handler = async ({ res }) => {
  sendJson(res, 200, {});
};
