// Create, or bring up to date, the preferences service's MongoDB users. Idempotent: run it on
// every deploy; a password changed in the environment is applied to the user.
//
//   mongosh --nodb --quiet --file provision.js      (the finovabank/mongo-provision image does this)
//
// Environment:
//   MONGO_ADMIN_URL             connection string of a user that may manage users (e.g. root,
//                               authSource=admin); for a replica set, the replica-set URL
//   MONGO_DB                    the service's database (default preferences)
//   PREFERENCES_OWNER_PASSWORD  password of <db>_owner (dbOwner: runs the migrations)
//   PREFERENCES_APP_PASSWORD    password of <db>_app (readWrite: what the service runs as)
//   MONGO_REPLICA_SET           optional: replica set name; when set, the set is initiated
//                               first if it is not yet (members from MONGO_REPLICA_SET_MEMBERS,
//                               "host:port,host:port,...", through MONGO_INIT_URL, a direct
//                               connection to the first member)
//   PROVISION_WAIT_SECONDS      how long to wait for the server (default 120)
// Passwords come from the environment only, never from the command line.

const env = process.env;
const waitSeconds = Number(env.PROVISION_WAIT_SECONDS || 120);

function required(name) {
  const value = env[name];
  if (!value) {
    print(`provision: ${name} is not set`);
    quit(2);
  }
  return value;
}

function connect(url, what) {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      const client = new Mongo(url);
      client.getDB('admin').runCommand({ ping: 1 });
      return client;
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      print(`provision: waiting for ${what}: ${error.message}`);
      sleep(2000);
    }
  }
}

function waitForPrimary(client) {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const hello = client.getDB('admin').runCommand({ hello: 1 });
    if (hello.isWritablePrimary) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error('no writable primary');
    }
    print('provision: waiting for a primary');
    sleep(2000);
  }
}

function initiateReplicaSet(name) {
  const members = required('MONGO_REPLICA_SET_MEMBERS').split(',').map((host, index) => (
    // The first member is preferred as primary, so user creation right after finds it.
    { _id: index, host: host.trim(), priority: index === 0 ? 2 : 1 }));
  const seed = connect(required('MONGO_INIT_URL'), 'the first replica set member');
  const status = seed.getDB('admin').runCommand({ replSetGetStatus: 1 });
  if (status.ok === 1) {
    print(`provision: replica set ${status.set} already initiated`);
    return;
  }
  if (status.code !== 94) { // NotYetInitialized
    throw new Error(`replSetGetStatus failed: ${status.errmsg}`);
  }
  const result = seed.getDB('admin').runCommand({ replSetInitiate: { _id: name, members } });
  if (result.ok !== 1) {
    throw new Error(`replSetInitiate failed: ${result.errmsg}`);
  }
  print(`provision: initiated replica set ${name} with ${members.length} members`);
}

function ensureUser(db, user, pwd, roles) {
  if (db.getUser(user)) {
    db.updateUser(user, { pwd, roles });
    print(`provision: updated user ${user}`);
  } else {
    db.createUser({ user, pwd, roles });
    print(`provision: created user ${user}`);
  }
}

const replicaSet = env.MONGO_REPLICA_SET;
if (replicaSet) {
  initiateReplicaSet(replicaSet);
}
const client = connect(required('MONGO_ADMIN_URL'), 'MongoDB');
waitForPrimary(client);
const dbName = env.MONGO_DB || 'preferences';
const target = client.getDB(dbName);
ensureUser(target, `${dbName}_owner`, required('PREFERENCES_OWNER_PASSWORD'),
           [{ role: 'dbOwner', db: dbName }]);
ensureUser(target, `${dbName}_app`, required('PREFERENCES_APP_PASSWORD'),
           [{ role: 'readWrite', db: dbName }]);
print(`provision: users ${dbName}_owner and ${dbName}_app are in place`);
