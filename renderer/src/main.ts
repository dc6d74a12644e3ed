import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { useBridge } from './bridge/index.js';
import { WebSocketBridge } from './bridge/ws-bridge.js';
import { makeRouter } from './router.js';
import './styles.css';

createApp(App).use(createPinia()).use(makeRouter()).mount('#app');

// Browser mode: the app's server went away and came back (it restarted, or the machine slept).
// Every follow, watch and terminal of this page belonged to the old connection, so start over
// from a fresh page rather than show streams that no longer flow.
const bridge = useBridge();
if (bridge instanceof WebSocketBridge) {
  let lost = false;
  bridge.onLink((up) => {
    if (!up) lost = true;
    else if (lost) window.location.reload();
  });
}
