// Edits not yet on the server, kept in the browser so that neither a reload nor a lost network
// loses them: IndexedDB holds them; a synchronous copy in localStorage covers a reload that
// comes before IndexedDB's transaction commits. The newer record of the two wins on reading.
//
//   record = {key: "P/T#n", task: "P/T", number, revision, track, at}

const DB = "tweenlab-editor";
const STORE = "pending";
const PREFIX = "tweenlab.pending.";

let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }).catch((error) => {
      console.warn("IndexedDB unavailable; pending edits kept in localStorage only", error);
      return null;
    });
  }
  return opening;
}

async function transact(mode, work) {
  const db = await open();
  if (!db) return undefined;
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function keep(record) {
  try {
    localStorage.setItem(PREFIX + record.key, JSON.stringify(record));
  } catch (error) {
    console.warn("localStorage full; the edit is in IndexedDB only", error);
  }
  return transact("readwrite", (store) => store.put(record)).catch((e) => console.error(e));
}

// Forget the record of key unless a newer one (at > at) replaced it.
export async function forget(key, at) {
  const local = localStorage.getItem(PREFIX + key);
  if (local && JSON.parse(local).at <= at) localStorage.removeItem(PREFIX + key);
  await transact("readwrite", (store) => {
    const request = store.get(key);
    request.onsuccess = () => {
      if (request.result && request.result.at <= at) store.delete(key);
    };
    return request;
  }).catch((e) => console.error(e));
}

export async function list(task) {
  const found = new Map();
  const stored = (await transact("readonly", (store) => store.getAll()).catch(() => [])) || [];
  for (const record of stored) if (record.task === task) found.set(record.key, record);
  for (let i = 0; i < localStorage.length; i += 1) {
    const name = localStorage.key(i);
    if (!name?.startsWith(PREFIX)) continue;
    const record = JSON.parse(localStorage.getItem(name));
    const other = found.get(record.key);
    if (record.task === task && (!other || other.at < record.at)) found.set(record.key, record);
  }
  return [...found.values()];
}
