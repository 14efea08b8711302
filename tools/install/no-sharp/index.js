// See package.json: the project binds no Images, so nothing should import this.
throw new Error("sharp is not installed in this project (tools/install/no-sharp): it binds no Images");
