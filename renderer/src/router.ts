import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

/** Hash history: the page is static files, in a browser tab or an Electron window alike. */
export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/dashboard' },
  { path: '/dashboard', name: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { title: 'Dashboard' } },
  { path: '/containers', name: 'containers', component: () => import('./views/ContainersView.vue'), meta: { title: 'Containers' } },
  {
    path: '/containers/:id/:tab?',
    name: 'container',
    component: () => import('./views/ContainerDetailView.vue'),
    props: true,
    meta: { title: 'Container' },
  },
  { path: '/images', name: 'images', component: () => import('./views/ImagesView.vue'), meta: { title: 'Images' } },
  { path: '/volumes', name: 'volumes', component: () => import('./views/VolumesView.vue'), meta: { title: 'Volumes' } },
  { path: '/volumes/:name/browse', name: 'volume-browse', component: () => import('./views/VolumeBrowseView.vue'), props: true, meta: { title: 'Volume' } },
  { path: '/networks', name: 'networks', component: () => import('./views/NetworksView.vue'), meta: { title: 'Networks' } },
  { path: '/settings', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { title: 'Settings' } },
];

export function makeRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
